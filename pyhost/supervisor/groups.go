package supervisor

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/pyhost/httpd"
	"github.com/pyhost/pyhost/pyhost/worker"
	"github.com/pyhost/pyhost/wsgi/request"
)

// Several process groups in one server (a config file with several [group.NAME] tables):
// each group's workers accept on a Unix socket of their own, and the supervisor accepts on
// the public listeners and routes every request to its group (frontend.go).

// groupRun is one process group as the supervisor runs it.
type groupRun struct {
	name  string // "" for serve's one group
	cfg   config.Config
	files []*os.File // the sockets its workers inherit, in order
	// slotFiles, when set, replaces files: one Unix socket per slot of the group (routed
	// groups: the router balances between them); slot firstSlot+i gets slotFiles[i].
	slotFiles [][]*os.File
	firstSlot int
	env       worker.Env // what its workers are told (each its own Slot)
	// routed, for routed groups, is what each slot shares with the router (frontend.go): it
	// sends requests only to slots with a ready worker.
	routed []*routedSlot
}

// shutdownTimeout is the longest of the groups' --shutdown-timeout.
func (s *supervisor) shutdownTimeout() time.Duration {
	d := s.cfg.ShutdownTimeout
	for _, g := range s.groups {
		d = max(d, g.cfg.ShutdownTimeout)
	}
	return d
}

// RunProcessGroups runs a config file's several process groups (cfgs: one per f.Groups,
// command-line flags applied) behind the supervisor's router.
func RunProcessGroups(f *config.File, cfgs []config.Config, args []string, log *slog.Logger) int {
	exe, err := os.Executable()
	if err != nil {
		log.Error("pyhost could not find its own binary to start workers", "error", err)
		return 1
	}
	listen := cfgs[0].Listen
	var lns []net.Listener
	var addrs []string
	for _, addr := range listen {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			log.Error("pyhost could not start", "error", fmt.Errorf("--listen %s: %w", addr, err))
			closeListeners(lns)
			return 1
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	defer closeListeners(lns)
	// The Unix sockets live in a folder only the supervisor's user can enter: a request on
	// them is trusted to come from the router (httpd.Forwarded).
	dir, err := os.MkdirTemp("", "pyhost-groups-")
	if err != nil {
		log.Error("pyhost could not create the folder of its workers' sockets", "error", err)
		return 1
	}
	defer os.RemoveAll(dir)
	s := newSupervisor(cfgs[0], args, exe, log)
	routed := map[string]routedGroup{}
	for i, g := range f.ProcessGroups {
		gr := &groupRun{name: g.Name, cfg: cfgs[i],
			env: worker.Env{Group: g.Name, Routed: addrs}}
		// One socket per process of the group, each served by that slot's worker (and its
		// replacement), so that the router can send a request to the least busy process.
		for p := 0; p < max(cfgs[i].Processes, 1); p++ {
			path := filepath.Join(dir, "group-"+strconv.Itoa(i)+"-"+strconv.Itoa(p)+".sock")
			file, err := bindUnix(path)
			if err != nil {
				log.Error("pyhost could not create a process group's socket", "group", g.Name,
					"error", err)
				return 1
			}
			defer file.Close()
			gr.slotFiles = append(gr.slotFiles, []*os.File{file})
			gr.routed = append(gr.routed, new(routedSlot))
			rg := routed[g.Name]
			rg.sockets = append(rg.sockets, path)
			rg.slots = gr.routed
			rg.wait = cfgs[i].Limits.QueueTimeout
			routed[g.Name] = rg
		}
		s.groups = append(s.groups, gr)
		s.log.Info("process group", "group", g.Name, "processes", max(cfgs[i].Processes, 1),
			"threads", cfgs[i].Threads, "gil", string(cfgs[i].GIL))
	}
	mounts := map[string]string{}
	for _, m := range f.Mounts {
		mounts[m.Prefix] = m.ProcessGroup
	}
	lims := make([]request.Limits, len(cfgs))
	for i, c := range cfgs {
		lims[i] = c.Limits
	}
	s.front, err = startFrontend(lns, mounts, routed, f.Static, httpd.LoosestLimits(lims), s.log)
	if err != nil {
		log.Error("pyhost could not start", "error", err)
		return 1
	}
	s.log.Info("supervisor listening; routing to process groups", "addresses",
		strings.Join(addrs, ","), "groups", len(f.ProcessGroups))
	return s.run()
}

// bindUnix binds a listening Unix socket and returns its file for the workers.
func bindUnix(path string) (*os.File, error) {
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	ln.SetUnlinkOnClose(false)             // the file below keeps the socket; the folder goes at exit
	f, err := worker.ListenerFile(ln) // stays non-blocking for the workers that share it
	ln.Close()
	return f, err
}

func closeListeners(lns []net.Listener) {
	for _, ln := range lns {
		ln.Close()
	}
}
