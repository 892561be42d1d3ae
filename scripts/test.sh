#!/usr/bin/env bash
# test.sh — lint, then the Go test suite against the real interpreter and the real binary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/lint.sh
go test -count=1 -timeout 20m ./...
