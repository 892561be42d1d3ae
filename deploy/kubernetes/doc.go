// Package kubernetes holds pyhost's Kubernetes manifests (kubectl apply -k deploy/kubernetes)
// and the test that decodes each one strictly into Kubernetes' own Go types and checks it
// against the real pyhost: its config package's defaults and checks, and its binary's
// check-config, endpoints and stop signal. A module of its own, so that k8s.io/api and
// friends never enter pyhost's.
package kubernetes
