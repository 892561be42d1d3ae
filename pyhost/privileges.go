package pyhost

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"

	"github.com/pyhost/pyhost/pyhost/config"
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
func resolveIdentity(cfg config.Config) (id identity, ok bool, err error) {
	if cfg.User == "" && cfg.UnixGroup == "" {
		return id, false, nil
	}
	id = identity{uid: os.Getuid(), gid: os.Getgid(), name: strconv.Itoa(os.Getuid())}
	if cfg.User != "" {
		u, err := lookupUser(cfg.User)
		if err != nil {
			return id, false, fmt.Errorf("--user %s: %w", cfg.User, err)
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
	if cfg.UnixGroup != "" {
		g, err := lookupGroup(cfg.UnixGroup)
		if err != nil {
			return id, false, fmt.Errorf("--group %s: %w", cfg.UnixGroup, err)
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

// checkRoot refuses, before anything starts, a configuration that would run apps as root.
func checkRoot(cfg config.Config) error {
	id, ok, err := resolveIdentity(cfg)
	if err != nil {
		return err
	}
	uid := os.Geteuid()
	if ok {
		if uid != 0 && id.uid != uid {
			return fmt.Errorf("--user %s: pyhost must be started as root to run apps as another "+
				"user (it runs as uid %d)", cfg.User, uid)
		}
		uid = id.uid
	}
	if uid == 0 && !cfg.AllowRoot {
		return errRoot
	}
	return nil
}

// dropPrivileges makes this process --user/--group, before Python starts. Go applies
// setuid/setgid to every thread of the process (Linux, Go ≥ 1.16).
func dropPrivileges(cfg config.Config) error {
	id, ok, err := resolveIdentity(cfg)
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
