package kubernetes

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/pyhost/supervisor"
)

// pyhostBin is the binary the tests run: built from this tree (run under
// scripts/with-python.sh, as scripts/test.sh does) or PYHOST_TEST_BINARY.
var pyhostBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pyhost-k8s-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pyhostBin = os.Getenv("PYHOST_TEST_BINARY")
	if pyhostBin == "" {
		pyhostBin = filepath.Join(dir, "pyhost")
		build := exec.Command("go", "build", "-o", pyhostBin, ".")
		build.Dir = filepath.Join("..", "..")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building pyhost (run under scripts/with-python.sh):", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// configFile writes the ConfigMap's pyhost.toml where the Deployment mounts it, under dir.
func configFile(t *testing.T, m *manifests, dir string) string {
	t.Helper()
	toml, ok := m.configMap.Data["pyhost.toml"]
	if !ok {
		t.Fatalf("configmap.yaml: no pyhost.toml key")
	}
	path := filepath.Join(dir, "pyhost.toml")
	if err := os.WriteFile(path, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	c := m.container(t)
	if !strings.Contains(" "+strings.Join(c.Args, " ")+" ", " --config "+m.configMountPath(t)+"/pyhost.toml ") {
		t.Errorf("deployment.yaml args %q: want --config %s/pyhost.toml (the ConfigMap's mount)", c.Args, m.configMountPath(t))
	}
	return path
}

// configMountPath is where the Deployment mounts the ConfigMap.
func (m *manifests) configMountPath(t *testing.T) string {
	t.Helper()
	for _, v := range m.deployment.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == m.configMap.Name {
			for _, vm := range m.container(t).VolumeMounts {
				if vm.Name == v.Name {
					return vm.MountPath
				}
			}
		}
	}
	t.Fatalf("deployment.yaml does not mount ConfigMap %s", m.configMap.Name)
	return ""
}

// pyhostConfig is the ConfigMap's config as pyhost's own config package reads it: the one
// process group's whole serve configuration, pyhost's defaults filled in.
func pyhostConfig(t *testing.T, m *manifests) (*config.File, config.Config) {
	t.Helper()
	f, err := config.LoadFile(configFile(t, m, t.TempDir()), gil.Build{})
	if err != nil {
		t.Fatalf("configmap.yaml's pyhost.toml: %v", err)
	}
	if len(f.ProcessGroups) != 1 {
		t.Fatalf("configmap.yaml's pyhost.toml: want one process group (the resources are sized per pod for one), have %d", len(f.ProcessGroups))
	}
	return f, f.ProcessGroups[0].Config
}

func TestConfigMapPassesCheckConfig(t *testing.T) {
	m := load(t, ".")
	out, err := exec.Command(pyhostBin, "check-config", configFile(t, m, t.TempDir())).CombinedOutput()
	if err != nil {
		t.Fatalf("pyhost check-config on configmap.yaml's pyhost.toml: %v\n%s", err, out)
	}
}

// port is the port of a HOST:PORT that the kubelet and the Service can reach: not loopback.
func port(t *testing.T, what, addr string) int32 {
	t.Helper()
	host, p, err := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	if err != nil || n == 0 {
		t.Fatalf("%s %q: want HOST:PORT (%v)", what, addr, err)
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		t.Errorf("%s %q: loopback, which neither the kubelet's probes nor the Service reach; bind the pod's address (0.0.0.0)", what, addr)
	}
	return int32(n)
}

// TestPortsAndPathsAgree: the container's ports are the config's listen and metrics-listen
// ports; the probes, the scrape annotations and the ServiceMonitor use the metrics port.
// (That pyhost answers on those paths is TestPyhostServesWhatTheManifestsExpect's.)
func TestPortsAndPathsAgree(t *testing.T) {
	m := load(t, ".")
	f, cfg := pyhostConfig(t, m)
	if len(cfg.Listen) != 1 {
		t.Fatalf("pyhost.toml listen %v: want one address, the container's http port", cfg.Listen)
	}
	if f.MetricsListen == "" {
		t.Fatalf("pyhost.toml: no metrics-listen, so no /healthz, /readyz or /metrics for the probes and Prometheus")
	}
	httpPort, metricsPort := port(t, "pyhost.toml listen", cfg.Listen[0]), port(t, "pyhost.toml metrics-listen", f.MetricsListen)
	c := m.container(t)
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["http"] != httpPort || ports["metrics"] != metricsPort {
		t.Errorf("deployment.yaml container ports %v: want http %d and metrics %d (pyhost.toml)", ports, httpPort, metricsPort)
	}
	resolve := func(p intstr.IntOrString) int32 {
		if p.Type == intstr.String {
			return ports[p.StrVal]
		}
		return p.IntVal
	}
	for name, probe := range map[string]*corev1.Probe{"startupProbe": c.StartupProbe, "readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe} {
		if probe == nil || probe.HTTPGet == nil {
			t.Errorf("deployment.yaml: no HTTP %s", name)
			continue
		}
		if got := resolve(probe.HTTPGet.Port); got != metricsPort {
			t.Errorf("deployment.yaml %s: port %s (%d), want pyhost's metrics-listen port %d", name, probe.HTTPGet.Port.String(), got, metricsPort)
		}
	}
	a := m.deployment.Spec.Template.Annotations
	if a["prometheus.io/scrape"] != "true" || a["prometheus.io/port"] != strconv.Itoa(int(metricsPort)) {
		t.Errorf("deployment.yaml pod annotations %v: want prometheus.io/scrape \"true\" and prometheus.io/port %d", a, metricsPort)
	}
	for _, svc := range m.service.Spec.Ports {
		if svc.Name == "metrics" && resolve(svc.TargetPort) != metricsPort {
			t.Errorf("service.yaml metrics port: targetPort %s, want %d", svc.TargetPort.String(), metricsPort)
		}
	}
	for _, e := range m.serviceMonitor.Spec.Endpoints {
		if e.Path != a["prometheus.io/path"] {
			t.Errorf("servicemonitor.yaml path %q, annotation prometheus.io/path %q: one server, one path", e.Path, a["prometheus.io/path"])
		}
	}
}

// TestEnvironmentLeavesTheConfigFileAlone: a PYHOST_ variable beats the config file, so one
// the container sets for a key the ConfigMap sets would silently replace the file's value
// (the probes and ports above are checked against the file). Empty counts as unset.
func TestEnvironmentLeavesTheConfigFileAlone(t *testing.T) {
	m := load(t, ".")
	f, _ := pyhostConfig(t, m)
	keys := []string{"listen", "metrics-listen", "pid-file", "trusted-proxy"}
	for _, o := range f.ProcessGroups[0].Options {
		keys = append(keys, o.Key)
	}
	set := map[string]string{}
	for _, k := range keys {
		set[config.EnvVar(k)] = k
	}
	for _, e := range m.container(t).Env {
		if k, ok := set[e.Name]; ok && (e.Value != "" || e.ValueFrom != nil) {
			t.Errorf("deployment.yaml env %s=%q replaces pyhost.toml's %s: set it in configmap.yaml, or leave the variable empty", e.Name, e.Value, k)
		}
	}
}

// preStopSleep is the Deployment's preStop sleep: the time the pod keeps accepting after the
// endpoint's removal, before SIGTERM.
func preStopSleep(t *testing.T, c *corev1.Container) time.Duration {
	t.Helper()
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds <= 0 {
		t.Fatalf("deployment.yaml: want a preStop sleep (the Service's endpoints lag the pod's end), have %+v", c.Lifecycle)
	}
	return time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
}

// TestGraceCoversPyhostsStop: the kubelet's SIGKILL (terminationGracePeriodSeconds after the
// pod's end began, preStop included) never comes before pyhost's own deadline:
// --shutdown-timeout for the requests, then the supervisor's StopMargin for the workers.
func TestGraceCoversPyhostsStop(t *testing.T) {
	m := load(t, ".")
	_, cfg := pyhostConfig(t, m)
	c := m.container(t)
	need := preStopSleep(t, c) + cfg.ShutdownTimeout + supervisor.StopMargin
	grace := m.deployment.Spec.Template.Spec.TerminationGracePeriodSeconds
	if grace == nil || time.Duration(*grace)*time.Second < need {
		t.Errorf("deployment.yaml terminationGracePeriodSeconds %v: want at least %v (preStop sleep + pyhost.toml's shutdown-timeout %v + the supervisor's stop margin %v)",
			ptrString(grace), need, cfg.ShutdownTimeout, supervisor.StopMargin)
	}
	if cfg.Processes < 1 {
		t.Errorf("pyhost.toml: processes unset: a supervisor keeps the pod serving while a worker is replaced")
	}
}

// TestMemoryLimitAbovePyhostsRecycling: pyhost recycles a worker (a replacement first) when
// it passes memory-limit; the container's limit must leave room for every worker at that
// size, or the kernel's OOM killer ends one mid-request first.
func TestMemoryLimitAbovePyhostsRecycling(t *testing.T) {
	m := load(t, ".")
	_, cfg := pyhostConfig(t, m)
	c := m.container(t)
	limit, ok := c.Resources.Limits[corev1.ResourceMemory]
	request, rok := c.Resources.Requests[corev1.ResourceMemory]
	if !ok || !rok || request.Cmp(limit) > 0 {
		t.Fatalf("deployment.yaml: want a memory request at most the memory limit, have %v", c.Resources)
	}
	if cfg.Recycle.MemoryLimit == 0 {
		t.Fatalf("pyhost.toml: no memory-limit: a worker that grows is OOM-killed mid-request instead of recycled")
	}
	// During a recycle the replacement starts before the old worker drains: one more worker.
	workers := resource.NewQuantity(int64(cfg.Processes)*cfg.Recycle.MemoryLimit, resource.BinarySI)
	if limit.Cmp(*workers) <= 0 {
		t.Errorf("deployment.yaml memory limit %s is not above %d workers × pyhost.toml's memory-limit (%s)", limit.String(), cfg.Processes, workers.String())
	}
}

func ptrString[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}
