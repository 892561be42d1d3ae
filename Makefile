# pyhost — build, run and test. `make test` and `make run` install what they need on a fresh
# Debian machine (apt), quietly when it is already there.
#
#   make build                       bin/pyhost against the system python3-embed
#   make build PYTHON=/p/bin/python3.13   bin/pyhost against another CPython installation
#   make build LIBPYTHON=shared      link libpython3.11.so rather than the static archive
#   make image                       the container image (build/image; scripts/image.sh)

SHELL := /bin/bash
PYTHON ?=
GO ?= go
BIN := bin/pyhost

# scripts/with-python.sh points cgo at the chosen CPython through a generated python3-embed.pc.
# LIBPYTHON=auto (default) links Debian's static, profile-guided libpython3.11.a into the
# binary where it is there (~18% less CPU for the same Python code than libpython3.11.so), and
# shared libraries everywhere else; LIBPYTHON=shared or static forces one (scripts/python-pc.sh).
WITH_PYTHON := scripts/with-python.sh "$(PYTHON)"

.PHONY: build run test deps test-deps image image-test vet lint clean

build: deps
	@$(WITH_PYTHON) $(GO) build -o $(BIN) .

deps:
	@scripts/deps.sh build

test-deps:
	@scripts/deps.sh test
	@scripts/deps.sh image

# The container image from Debian's archive: APP=, PACKAGES=, IMAGE_ENV= (scripts/image.sh).
image: build
	@scripts/deps.sh image
	@scripts/image.sh

# Unpacks the image and runs it in its own namespaces (scripts/image-test.sh; make test runs it).
image-test: image
	@scripts/image-test.sh

# pyhost refuses to run apps as root unless told to: this example app may.
run: build
	$(BIN) serve testdata/hello.py --listen 127.0.0.1:8000 $$([ "$$(id -u)" -eq 0 ] && echo --allow-root)

vet: deps
	@$(WITH_PYTHON) $(GO) vet ./...

lint: vet
	@scripts/lint.sh

test: deps test-deps
	@scripts/test.sh

clean:
	rm -rf bin build
