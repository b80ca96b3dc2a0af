# gotrap build, test and demo. Every target that needs tools depends on
# `deps`, so `make test` and `make demo` each work on a fresh Debian machine.

GO      ?= go
BIN     := bin/gotrap
SHARED  ?= ../shared
# Debian packages gotrap and its tests use. Open MPI is for the `mpi` build
# (reduce/mpi, a later issue); gcc builds the cgo parts.
APT_PKGS := gcc libc6-dev make libopenmpi-dev openmpi-bin
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build test test-short demo bench lint fuzz golden clean

all: build

# deps installs what is missing: the Debian packages above (via apt when any
# is absent) and the Go modules of go.mod.
deps:
	@missing=""; for p in $(APT_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	$(GO) mod download

build: deps
	$(GO) build -o $(BIN) ./cmd/gotrap

# test runs lint and the whole suite. Tests that read the real images in
# $(SHARED)/data skip with a message when it is absent.
test: deps lint
	$(GO) test -count=1 ./...

test-short: deps
	$(GO) test -short ./...

# demo reads the real radio images shipped beside the project (or the
# built-in fixtures when they are absent) and prints what gotrap sees.
demo: build
	./scripts/demo.sh $(BIN) $(SHARED)/data

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./kernels/... ./internal/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# fuzz runs each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz: deps
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME) ./internal/fitsimg/
	$(GO) test -run '^$$' -fuzz '^FuzzParseHeader$$' -fuzztime $(FUZZTIME) ./internal/fitsimg/

# golden regenerates the WCS reference values with astropy (wcslib); the
# tests themselves need neither. See testdata/wcsgolden/README.md.
golden:
	@dpkg-query -W -f='$${Status}' python3-astropy 2>/dev/null | grep -q 'ok installed' || \
	  (DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-astropy)
	/usr/bin/python3 testdata/wcsgolden/gen_wcs_golden.py $(SHARED)/data testdata/wcsgolden

clean:
	rm -rf bin
