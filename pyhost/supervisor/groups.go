package supervisor

import (
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/pyhost/httpd"
	"github.com/pyhost/pyhost/pyhost/proc"
	"github.com/pyhost/pyhost/pyhost/worker"
	"github.com/pyhost/pyhost/wsgi/request"
)

// Several process groups in one server (a config file with several [group.NAME] tables):
// each slot of each group has a Unix socket of its own that its workers accept on, and the
// supervisor's front accepts on the public listeners and forwards every request to its group
// (front.go).

// groupRun is one process group as the supervisor runs it.
type groupRun struct {
	name  string // "" for serve's one group
	cfg   config.Config
	files []*os.File // the sockets its workers inherit, in order
	// slotFiles, when set, replaces files: one Unix socket per slot of the group (groups
	// behind the front); slot firstSlot+i gets slotFiles[i].
	slotFiles [][]*os.File
	firstSlot int
	env       worker.Env // what its workers are told (each its own Slot)
	// front, for a group behind the front, is what the front knows of it; its slots[i] is
	// what slot firstSlot+i shares with the front. nil for serve's one group.
	front *frontGroup
}

// shutdownTimeout is the longest of the groups' --shutdown-timeout.
func (s *supervisor) shutdownTimeout() time.Duration {
	d := s.cfg.ShutdownTimeout
	for _, g := range s.groups {
		d = max(d, g.cfg.ShutdownTimeout)
	}
	return d
}

// RunProcessGroups runs a config file's several process groups (cfgs: one per
// f.ProcessGroups, command-line flags applied) behind the supervisor's front, until
// SIGTERM/SIGINT, and returns the exit status as Run does.
func RunProcessGroups(f *config.File, cfgs []config.Config, args []string, log *slog.Logger) int {
	exe, err := os.Executable()
	if err != nil {
		log.Error("pyhost could not find its own binary to start workers", "error", err)
		return 1
	}
	lns, addrs, err := activatedListeners() // a systemd socket unit's replace --listen
	so, soErr := socketOptions(cfgs[0])
	if err == nil && soErr != nil {
		err = soErr
	}
	if err == nil && lns == nil {
		lns, addrs, err = worker.Listen(cfgs[0].Listen, so) // a Unix one's Close removes its file
	}
	if err != nil {
		log.Error("pyhost could not start", "error", err)
		return 1
	}
	defer closeListeners(lns)
	// The Unix sockets live in a folder only the supervisor's user can enter: a request on
	// them is trusted to come from the front (httpd.Forwarded).
	dir, err := os.MkdirTemp("", "pyhost-groups-")
	if err != nil {
		log.Error("pyhost could not create the folder of its workers' sockets", "error", err)
		return 1
	}
	defer os.RemoveAll(dir)
	s := newSupervisor(cfgs[0], args, exe, log)
	defer s.closeSlotFiles()
	byName := map[string]*frontGroup{}
	for i, g := range f.ProcessGroups {
		gr, err := s.addFrontGroup(dir, i, g.Name, cfgs[i], addrs)
		if err != nil {
			log.Error("pyhost could not create a process group's socket", "process_group", g.Name,
				"error", err)
			return 1
		}
		byName[g.Name] = gr.front
	}
	mounts := map[string]*frontGroup{}
	for _, m := range f.Mounts {
		mounts[m.Prefix] = byName[m.ProcessGroup]
	}
	lims := make([]request.Limits, len(cfgs))
	for i, c := range cfgs {
		lims[i] = c.Limits
	}
	observers, err := s.routerObservers(cfgs[0])
	if err != nil {
		log.Error("pyhost could not start", "error", err)
		return 1
	}
	s.front, err = startFront(lns, mounts, f.Static, httpd.LoosestLimits(lims),
		cfgs[0].TrustedProxies, observers, s.log)
	if err != nil {
		log.Error("pyhost could not start", "error", err)
		return 1
	}
	s.log.Info("supervisor listening; routing to process groups", "addresses",
		strings.Join(addrs, ","), "groups", len(f.ProcessGroups))
	s.startSystemd(addrs)
	return s.run()
}

// addFrontGroup adds the i-th process group of a config file, behind the front: one socket
// per slot, in dir, each served by that slot's worker (and its replacement), so that the
// front can send a request to the least busy process. public are the front's addresses.
func (s *supervisor) addFrontGroup(dir string, i int, name string, cfg config.Config,
	public []string) (*groupRun, error) {
	gr := &groupRun{name: name, cfg: cfg, env: worker.Env{Group: name, FrontAddrs: public},
		front: newFrontGroup(name, cfg.Limits.QueueTimeout, s.log)}
	s.groups = append(s.groups, gr)
	for p := 0; p < max(cfg.Processes, 1); p++ {
		path := filepath.Join(dir, "group-"+strconv.Itoa(i)+"-"+strconv.Itoa(p)+".sock")
		file, err := bindUnix(path)
		if err != nil {
			return nil, err
		}
		gr.slotFiles = append(gr.slotFiles, []*os.File{file})
		gr.front.addSlot(path)
	}
	s.log.Info("process group", "process_group", name, "processes", max(cfg.Processes, 1),
		"threads", cfg.Threads, "gil", string(cfg.GIL))
	return gr, nil
}

// closeSlotFiles closes the supervisor's copies of the groups' slot sockets.
func (s *supervisor) closeSlotFiles() {
	for _, g := range s.groups {
		for _, files := range g.slotFiles {
			for _, f := range files {
				f.Close()
			}
		}
	}
}

// bindUnix binds a listening Unix socket and returns its file for the workers.
func bindUnix(path string) (*os.File, error) {
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	ln.SetUnlinkOnClose(false)        // the file below keeps the socket; the folder goes at exit
	f, err := worker.ListenerFile(ln) // stays non-blocking for the workers that share it
	ln.Close()
	return f, err
}

// socketOptions is how the supervisor makes the files of unix:PATH listeners: with
// --socket-mode and, as it stays root when started so, owned by --user and --group (the
// app's, as a single process that dropped to them would make them).
func socketOptions(cfg config.Config) (worker.SocketOptions, error) {
	uid, gid, err := proc.FileOwner(cfg.User, cfg.UnixGroup)
	return worker.SocketOptions{Mode: cfg.SocketMode, UID: uid, GID: gid}, err
}

func closeListeners(lns []net.Listener) {
	for _, ln := range lns {
		ln.Close()
	}
}
