# pyhost — build, run and test. `make test` and `make run` install what they need on a fresh
# Debian machine (apt), quietly when it is already there.
#
#   make build                       bin/pyhost against the system python3-embed
#   make build PYTHON=/p/bin/python3.13   bin/pyhost against another CPython installation

SHELL := /bin/bash
PYTHON ?=
GO ?= go
BIN := bin/pyhost

# For PYTHON=..., a generated python3-embed.pc points cgo at that installation (with an rpath,
# so the binary finds its libpython without LD_LIBRARY_PATH).
# Go's build cache does not see PKG_CONFIG_PATH, but it does see CGO_CFLAGS: naming the
# interpreter's include directory there keeps builds for different Pythons apart.
ifneq ($(PYTHON),)
PCDIR := $(CURDIR)/build/pc/$(subst /,_,$(PYTHON))
export PKG_CONFIG_PATH := $(PCDIR)
export CGO_CFLAGS := -O2 -g -I$(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
PC_DEP := $(PCDIR)/python3-embed.pc
endif

.PHONY: build run test deps test-deps vet lint clean

build: deps $(PC_DEP)
	$(GO) build -o $(BIN) .

$(PCDIR)/python3-embed.pc: scripts/python-pc.sh
	@scripts/python-pc.sh "$(PYTHON)" "$(PCDIR)"

deps:
	@scripts/deps.sh build

test-deps:
	@scripts/deps.sh test

# pyhost refuses to run apps as root unless told to: this example app may.
run: build
	$(BIN) serve testdata/hello.py --listen 127.0.0.1:8000 $$([ "$$(id -u)" -eq 0 ] && echo --allow-root)

vet: $(PC_DEP)
	$(GO) vet ./...

lint: vet
	@scripts/lint.sh

test: deps test-deps $(PC_DEP)
	@scripts/test.sh

clean:
	rm -rf bin build
