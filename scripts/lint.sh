#!/usr/bin/env bash
# lint.sh — gofmt, go vet and staticcheck (installed into GOBIN on first use, pinned).
set -euo pipefail
# The module version (v0.8.2) is what the module proxy knows; the tool reports itself as
# 2026.2.2, which is what -version prints.
STATICCHECK_MODULE=v0.8.2
STATICCHECK_VERSION=2026.2.2
unformatted=$(gofmt -l . | grep -v '^build/' || true)
if [ -n "$unformatted" ]; then
	echo "gofmt needed on: $unformatted" >&2
	exit 1
fi
go vet ./...
# The package arrows (README, "How it is built"): layers, and which packages may reach Python.
scripts/check-imports.sh
sc=$(go env GOPATH)/bin/staticcheck
if ! "$sc" -version 2>/dev/null | grep -q "$STATICCHECK_VERSION"; then
	echo "installing staticcheck $STATICCHECK_MODULE ($STATICCHECK_VERSION)" >&2
	go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_MODULE"
fi
"$sc" ./...
# deploy/kubernetes is a module of its own (its test imports Kubernetes' types).
(cd deploy/kubernetes && go vet ./... && "$sc" ./...)
