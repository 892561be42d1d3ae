package supervisor

import (
	"errors"
	"io/fs"
	"os"

	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/pyhost/observe"
	"github.com/pyhost/pyhost/pyhost/proc"
)

// What the router (the front, several process groups) answers itself is counted and logged by
// the supervisor under process_group="router" (config.RouterProcessGroup): static files, paths
// no mount covers (404), a group with no worker ready (503), a worker that did not answer
// (502), CONNECT (501). A request it forwards is a worker's to count and log
// (observe.PassedOn), so nothing is counted twice.

// routerObservers makes the router's observers: its metrics with --metrics-listen (which the
// supervisor's /metrics adds to the workers', worker="supervisor") and the first group's
// access log, as the supervisor's own log follows the first group's log settings.
func (s *supervisor) routerObservers(first config.Config) ([]observe.Observer, error) {
	var obs []observe.Observer
	if s.cfg.MetricsListen != "" {
		s.routerMetrics = observe.NewMetrics(observe.MetricsOptions{
			ProcessGroup: config.RouterProcessGroup, RequestsOnly: true})
		obs = append(obs, s.routerMetrics.Observe)
	}
	if err := createForUser(first); err != nil {
		return nil, err
	}
	al, err := observe.OpenAccessLog(first.Logs, config.RouterProcessGroup, s.log)
	if err != nil {
		return nil, err
	}
	if al != nil {
		s.routerLog = al
		obs = append(obs, al.Observe)
	}
	return obs, nil
}

// createForUser creates the access log of cfg, when the supervisor runs as root and the file
// does not exist yet, owned by the user its workers become: they open it after dropping to
// that user, and could not append to a file root created.
func createForUser(cfg config.Config) error {
	path := cfg.Logs.AccessLog
	if path == "" || path == "-" || os.Geteuid() != 0 || cfg.User == "" && cfg.UnixGroup == "" {
		return nil
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	f.Close()
	return proc.GiveToUser(path, cfg.User, cfg.UnixGroup)
}
