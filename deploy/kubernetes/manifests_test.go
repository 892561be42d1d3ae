package kubernetes

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	kustomize "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// manifests is every manifest of this folder, decoded strictly into its upstream type.
type manifests struct {
	configMap      *corev1.ConfigMap
	deployment     *appsv1.Deployment
	service        *corev1.Service
	pdb            *policyv1.PodDisruptionBudget
	hpa            *autoscalingv2.HorizontalPodAutoscaler
	serviceMonitor *monitoringv1.ServiceMonitor
	kustomization  *kustomize.Kustomization
	files          map[string]string // kind → file
}

// decodeStrict decodes one YAML document into out; a field the type does not have, or a key
// given twice, is an error (sigs.k8s.io/yaml's strict mode: JSON's DisallowUnknownFields).
func decodeStrict(data []byte, out any) error {
	return yaml.UnmarshalStrict(data, out)
}

// typed is the upstream type a manifest of this apiVersion and kind decodes into.
func typed(apiVersion, kind string) (any, error) {
	switch apiVersion + " " + kind {
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}, nil
	case "kustomize.config.k8s.io/v1beta1 Kustomization":
		return &kustomize.Kustomization{}, nil
	}
	return nil, fmt.Errorf("apiVersion %q kind %q: not a kind this folder should hold", apiVersion, kind)
}

// decodeFile decodes one manifest file strictly.
func decodeFile(name string, data []byte) (any, error) {
	if bytes.Contains(data, []byte("\n---")) {
		return nil, fmt.Errorf("%s: one object per file, please", name)
	}
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(data, &tm); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	obj, err := typed(tm.APIVersion, tm.Kind)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := decodeStrict(data, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return obj, nil
}

// load decodes every *.yaml file of dir.
func load(t *testing.T, dir string) *manifests {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no manifests in %s (%v)", dir, err)
	}
	m := &manifests{files: map[string]string{}}
	for _, path := range names {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := decodeFile(filepath.Base(path), data)
		if err != nil {
			t.Fatal(err)
		}
		if !m.set(obj, filepath.Base(path)) {
			t.Fatalf("%s: a second %T", path, obj)
		}
	}
	for kind, got := range map[string]bool{"ConfigMap": m.configMap != nil, "Deployment": m.deployment != nil,
		"Service": m.service != nil, "PodDisruptionBudget": m.pdb != nil, "HorizontalPodAutoscaler": m.hpa != nil,
		"ServiceMonitor": m.serviceMonitor != nil, "Kustomization": m.kustomization != nil} {
		if !got {
			t.Errorf("%s: no %s manifest", dir, kind)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return m
}

// set files obj under its kind; false if that kind was already there.
func (m *manifests) set(obj any, file string) bool {
	var slot, kind = false, fmt.Sprintf("%T", obj)
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		slot, m.configMap = m.configMap == nil, o
	case *appsv1.Deployment:
		slot, m.deployment = m.deployment == nil, o
	case *corev1.Service:
		slot, m.service = m.service == nil, o
	case *policyv1.PodDisruptionBudget:
		slot, m.pdb = m.pdb == nil, o
	case *autoscalingv2.HorizontalPodAutoscaler:
		slot, m.hpa = m.hpa == nil, o
	case *monitoringv1.ServiceMonitor:
		slot, m.serviceMonitor = m.serviceMonitor == nil, o
	case *kustomize.Kustomization:
		slot, m.kustomization = m.kustomization == nil, o
	}
	m.files[kind] = file
	return slot
}

// container is the Deployment's pyhost container.
func (m *manifests) container(t *testing.T) *corev1.Container {
	t.Helper()
	cs := m.deployment.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("deployment.yaml: want one container, have %d", len(cs))
	}
	return &cs[0]
}

func TestManifestsDecodeStrictly(t *testing.T) {
	load(t, ".")
}

// TestStrictDecodingRefusesUnknownFields: the decoding above would catch a misspelt or
// misplaced field, in every file of this folder.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	names, _ := filepath.Glob("*.yaml")
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		bad := [][]byte{append(slices.Clone(data), "\nnotAField: 1\n"...)}
		if bytes.Contains(data, []byte("\nmetadata:\n")) {
			bad = append(bad, bytes.Replace(data, []byte("\nmetadata:\n"), []byte("\nmetadata:\n  nmae: x\n"), 1))
		}
		for _, bad := range bad {
			if _, err := decodeFile(name, bad); err == nil || !strings.Contains(err.Error(), "unknown field") {
				t.Errorf("%s with an unknown field: want an unknown-field error, got %v", name, err)
			}
		}
	}
}

// TestKustomizationListsEveryManifest: kubectl apply -k applies what kustomization.yaml names;
// a manifest left out of it would never reach the cluster.
func TestKustomizationListsEveryManifest(t *testing.T) {
	m := load(t, ".")
	names, _ := filepath.Glob("*.yaml")
	var want []string
	for _, n := range names {
		if n != "kustomization.yaml" {
			want = append(want, n)
		}
	}
	got := slices.Sorted(slices.Values(m.kustomization.Resources))
	if !slices.Equal(got, want) {
		t.Errorf("kustomization.yaml resources %v, want the folder's manifests %v", got, want)
	}
	c := m.container(t)
	image := strings.SplitN(c.Image, ":", 2)[0]
	if len(m.kustomization.Images) != 1 || m.kustomization.Images[0].Name != image {
		t.Errorf("kustomization.yaml images %+v: want one entry for the container's image %q", m.kustomization.Images, image)
	}
}

// TestSelectorsMeet: the Service, the PodDisruptionBudget and the Deployment's own selector
// pick the Deployment's pods; the ServiceMonitor picks the Service and names its port; the
// HorizontalPodAutoscaler scales the Deployment and has a CPU request to measure against.
func TestSelectorsMeet(t *testing.T) {
	m := load(t, ".")
	pod := labels.Set(m.deployment.Spec.Template.Labels)
	mustMatch := func(what string, sel *metav1.LabelSelector, set labels.Set) {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil || s.Empty() || !s.Matches(set) {
			t.Errorf("%s: selector %v does not pick %v (%v)", what, sel, set, err)
		}
	}
	mustMatch("deployment.yaml spec.selector", m.deployment.Spec.Selector, pod)
	mustMatch("pdb.yaml", m.pdb.Spec.Selector, pod)
	mustMatch("servicemonitor.yaml", &m.serviceMonitor.Spec.Selector, labels.Set(m.service.Labels))
	if s := labels.SelectorFromSet(m.service.Spec.Selector); len(m.service.Spec.Selector) == 0 || !s.Matches(pod) {
		t.Errorf("service.yaml: selector %v does not pick the pods %v", m.service.Spec.Selector, pod)
	}

	c := m.container(t)
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	svcPorts := map[string]bool{}
	for _, p := range m.service.Spec.Ports {
		svcPorts[p.Name] = true
		if _, ok := ports[p.TargetPort.String()]; !ok && p.TargetPort.IntVal == 0 {
			t.Errorf("service.yaml port %s: targetPort %s is no container port (%v)", p.Name, p.TargetPort.String(), ports)
		}
	}
	for _, e := range m.serviceMonitor.Spec.Endpoints {
		if !svcPorts[e.Port] {
			t.Errorf("servicemonitor.yaml: endpoint port %q is not a port of service.yaml", e.Port)
		}
	}

	ref := m.hpa.Spec.ScaleTargetRef
	if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || ref.Name != m.deployment.Name {
		t.Errorf("hpa.yaml scales %+v, not deployment.yaml's %s", ref, m.deployment.Name)
	}
	cpu := false
	for _, mt := range m.hpa.Spec.Metrics {
		cpu = cpu || (mt.Resource != nil && mt.Resource.Name == corev1.ResourceCPU)
	}
	if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !cpu || !ok {
		t.Errorf("hpa.yaml scales on CPU (%v) against the container's CPU request (set: %v): want both", cpu, ok)
	}
	if m.deployment.Spec.Replicas != nil {
		t.Errorf("deployment.yaml sets replicas: the HorizontalPodAutoscaler owns them, and each apply would reset them")
	}
	pdbAllowsOne := m.pdb.Spec.MaxUnavailable != nil && m.pdb.Spec.MaxUnavailable.IntValue() >= 1
	if !pdbAllowsOne && m.pdb.Spec.MinAvailable != nil && m.hpa.Spec.MinReplicas != nil {
		pdbAllowsOne = m.pdb.Spec.MinAvailable.IntValue() < int(*m.hpa.Spec.MinReplicas)
	}
	if !pdbAllowsOne {
		t.Errorf("pdb.yaml allows no eviction at the HPA's minimum: a node drain would hang")
	}
}

// TestPodIsLockedDown: non-root, read-only root filesystem, no privilege escalation, every
// capability dropped, and a writable /tmp, TMPDIR, for what pyhost writes (tested against the
// real binary in TestPyhostServesWhatTheManifestsExpect).
func TestPodIsLockedDown(t *testing.T) {
	m := load(t, ".")
	pod := m.deployment.Spec.Template.Spec
	c := m.container(t)
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot ||
		pod.SecurityContext.RunAsUser == nil || *pod.SecurityContext.RunAsUser == 0 {
		t.Errorf("deployment.yaml: want runAsNonRoot and a non-zero runAsUser, have %+v", pod.SecurityContext)
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("deployment.yaml container: want readOnlyRootFilesystem, no privilege escalation, capabilities drop ALL; have %+v", sc)
	}
	tmpdir := "/tmp"
	for _, e := range c.Env {
		if e.Name == "TMPDIR" {
			tmpdir = e.Value
		}
	}
	var mounted string
	for _, vm := range c.VolumeMounts {
		if vm.MountPath == tmpdir && !vm.ReadOnly {
			mounted = vm.Name
		}
	}
	writable := false
	for _, v := range pod.Volumes {
		writable = writable || (v.Name == mounted && v.EmptyDir != nil)
	}
	if !writable {
		t.Errorf("deployment.yaml: TMPDIR %s is not a writable emptyDir: pyhost's supervisor makes its worker sockets there and cannot start without it", tmpdir)
	}
}
