package proc

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// Privileges: started as root (to bind port 80, say), pyhost runs apps as --user/--group
// (user = / group = in a process group): the process that loads Python gives root up first,
// and apps never run as root unless --allow-root says so. The supervisor, which never runs
// Python, stays root.

// identity is the user and groups a process becomes.
type identity struct {
	uid, gid int
	groups   []int // supplementary groups
	name     string
}

// resolveIdentity looks --user and --group up; ok is false when neither is set.
func resolveIdentity(userName, group string) (id identity, ok bool, err error) {
	if userName == "" && group == "" {
		return id, false, nil
	}
	id = identity{uid: os.Getuid(), gid: os.Getgid(), name: strconv.Itoa(os.Getuid())}
	if userName != "" {
		u, err := lookupUser(userName)
		if err != nil {
			return id, false, fmt.Errorf("--user %s: %w", userName, err)
		}
		id.uid, _ = strconv.Atoi(u.Uid)
		id.gid, _ = strconv.Atoi(u.Gid)
		id.name = u.Username
		if gids, err := u.GroupIds(); err == nil {
			for _, g := range gids {
				if n, err := strconv.Atoi(g); err == nil {
					id.groups = append(id.groups, n)
				}
			}
		}
	}
	if group != "" {
		g, err := lookupGroup(group)
		if err != nil {
			return id, false, fmt.Errorf("--group %s: %w", group, err)
		}
		id.gid, _ = strconv.Atoi(g.Gid)
	}
	if len(id.groups) == 0 {
		id.groups = []int{id.gid}
	}
	return id, true, nil
}

func lookupUser(name string) (*user.User, error) {
	if _, err := strconv.Atoi(name); err == nil {
		return user.LookupId(name)
	}
	return user.Lookup(name)
}

func lookupGroup(name string) (*user.Group, error) {
	if _, err := strconv.Atoi(name); err == nil {
		return user.LookupGroupId(name)
	}
	return user.LookupGroup(name)
}

// errRoot is serve's refusal to run apps as root.
var errRoot = errors.New("pyhost refuses to run Python apps as root: give --user NAME " +
	"(user = \"NAME\" in a [group.NAME] table) so that the processes running the app drop to " +
	"that user, or pass --allow-root if running the app as root is really meant")

// CheckRoot refuses, before anything starts, a configuration that would run apps as root:
// userName and group are --user and --group (either may be empty), allowRoot --allow-root.
func CheckRoot(userName, group string, allowRoot bool) error {
	id, ok, err := resolveIdentity(userName, group)
	if err != nil {
		return err
	}
	uid := os.Geteuid()
	if ok {
		if uid != 0 && id.uid != uid {
			return fmt.Errorf("--user %s: pyhost must be started as root to run apps as another "+
				"user (it runs as uid %d)", userName, uid)
		}
		uid = id.uid
	}
	if uid == 0 && !allowRoot {
		return errRoot
	}
	return nil
}

// DropPrivileges makes this process userName and group (--user and --group; nothing when
// both are empty or the process is not root), before Python starts, and sets HOME and USER
// to the user's.
//
// The syscall package's Setgroups, Setgid and Setuid apply to every thread of the process
// (Linux, Go ≥ 1.16; through the C library when cgo is linked). x/sys/unix's Setgroups
// would change the calling thread's groups alone: it is not used here.
func DropPrivileges(userName, group string) error {
	id, ok, err := resolveIdentity(userName, group)
	if err != nil || !ok || os.Geteuid() != 0 {
		return err
	}
	if err := syscall.Setgroups(id.groups); err != nil {
		return fmt.Errorf("setgroups for --user %s: %w", id.name, err)
	}
	if err := syscall.Setgid(id.gid); err != nil {
		return fmt.Errorf("setgid %d: %w", id.gid, err)
	}
	if err := syscall.Setuid(id.uid); err != nil {
		return fmt.Errorf("setuid %d (--user %s): %w", id.uid, id.name, err)
	}
	// HOME and USER as the app's user expects them (pip caches, ~/.config...).
	if u, err := user.LookupId(strconv.Itoa(id.uid)); err == nil {
		os.Setenv("HOME", u.HomeDir)
		os.Setenv("USER", u.Username)
	}
	return nil
}

// FileOwner is the owner a file that root makes for the app gets (a unix:PATH listener's
// socket, an access log the workers append to): --user and --group (the --user's own group
// without --group) when this process is root, so that the app's user, and those of its group
// (nginx, say, with --socket-mode 0660), may use it; -1, -1 (the file stays as made)
// otherwise.
func FileOwner(userName, group string) (uid, gid int, err error) {
	if os.Geteuid() != 0 {
		return -1, -1, nil
	}
	id, ok, err := resolveIdentity(userName, group)
	if err != nil || !ok {
		return -1, -1, err
	}
	if userName == "" {
		id.uid = -1
	}
	return id.uid, id.gid, nil
}
