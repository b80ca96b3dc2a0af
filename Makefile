# gotrap build, test and demo. Every target that needs tools depends on
# `deps`, so `make test` and `make demo` each work on a fresh Debian machine.

GO      ?= go
BIN     := bin/gotrap
SHARED  ?= ../shared
# Debian packages gotrap and its tests use. Open MPI is for the `mpi` build
# (reduce/mpi); gcc builds the cgo parts (DuckDB, MPI); chromium renders the
# HTML report in its tests (node and npm, checked by command in deps,
# install the report's plotting library: see web) and xmllint validates
# VOEvents against the schema; the Python packages run Comet (the VOEvent
# broker in ../shared/vendor) and an SMTP server (aiosmtpd) in the response
# tests.
APT_PKGS := gcc libc6-dev make pkg-config libopenmpi-dev openmpi-bin \
            chromium chromium-driver libxml2-utils \
            python3-twisted python3-lxml python3-zope.interface python3-aiosmtpd
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# MPI_TAGS is "mpi" when Open MPI is installed (evaluated when a recipe
# runs, so after `deps` has installed it): the binary then speaks to real
# MPI ranks under mpirun/srun as well as running in-process ranks.
MPI_TAGS = $(shell command -v mpirun >/dev/null 2>&1 && pkg-config --exists ompi 2>/dev/null && echo mpi)

.PHONY: all deps web build test test-race test-short demo bench lint fuzz golden screenshots clean

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
	@command -v npm >/dev/null 2>&1 || { echo "make deps: installing nodejs npm"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends nodejs npm; }
	$(GO) mod download

# web installs the report's plotting library, uPlot, from the npm registry
# at the exact version of web/package-lock.json (npm ci) and copies it into
# internal/report/assets/vendor/ (gitignored: the project holds no
# third-party code), which go:embed puts into the binary. Node and npm come
# from deps (Debian's nodejs and npm when npm is missing).
WEB_VENDOR := internal/report/assets/vendor
web: $(WEB_VENDOR)/uPlot.iife.min.js

$(WEB_VENDOR)/uPlot.iife.min.js: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(WEB_VENDOR)
	cp web/node_modules/uplot/dist/uPlot.min.css $(WEB_VENDOR)/
	cp web/node_modules/uplot/LICENSE $(WEB_VENDOR)/uPlot.LICENSE
	cp web/node_modules/uplot/dist/uPlot.iife.min.js $(WEB_VENDOR)/

# build writes two binaries (docs/performance.md, "Start-up"): bin/gotrap,
# the front, a static pure-Go build (-tags front, no cgo) of the commands
# that need neither DuckDB nor MPI (version, extract, info, wcs,
# simulate), which starts without loading DuckDB, libstdc++ or Open MPI;
# and bin/gotrap-full, every command, with DuckDB and (when Open MPI is
# installed) MPI, which the front becomes (exec) for the other commands.
# Install both side by side.
# -buildvcs=auto: stamp the git revision into the binary (gotrap bench
# reports it) even where GOFLAGS holds -buildvcs=false.
# On amd64 both are built with Go's SIMD experiment (GOEXPERIMENT=simd):
# the pixel passes with vector versions (SIMD_PKGS below) then run them on
# CPUs with AVX2 and the plain loops elsewhere, with the same results
# (docs/performance.md, "Session 8: SIMD"). `make build SIMD=0` builds
# without it.
SIMD ?= 1
SIMD_ENV = $(shell [ "$(SIMD)" = 1 ] && [ "$$($(GO) env GOARCH)" = amd64 ] && echo GOEXPERIMENT=simd)
build: deps web
	$(SIMD_ENV) $(GO) build -buildvcs=auto -tags "$(MPI_TAGS)" -o $(BIN)-full ./cmd/gotrap
	$(SIMD_ENV) CGO_ENABLED=0 $(GO) build -buildvcs=auto -tags front -o $(BIN) ./cmd/gotrap

# test runs lint and the whole suite. Tests that read the real images in
# $(SHARED)/data skip with a message when it is absent.
# RACE_PKGS are the packages whose goroutines share memory (the
# collectives, the tiling and assignment, the association engine's
# workers, the run-directory lock, live mode's follower and status, the arena of huge pages), tested
# again under the race detector (about 60 s with a warm build cache; the
# first -race build of arrow-go takes minutes).
RACE_PKGS := ./reduce/ ./decomp/ ./catalog/assoc/ ./internal/rundir/ ./internal/watch/ ./internal/hugemem/
# SIMD_PKGS are the packages with vector versions of their pixel loops
# (files *_simd_amd64.go, built with GOEXPERIMENT=simd; docs/performance.md
# "Session 8: SIMD"), tested again in that build, where their tests also
# compare each vector loop with its plain twin.
SIMD_PKGS := ./kernels/ ./internal/qc/ ./internal/fitsimg/

test: deps web lint
	$(GO) test -count=1 ./...
	$(GO) test -race -count=1 $(RACE_PKGS)
	GOEXPERIMENT=simd $(GO) test -count=1 $(SIMD_PKGS)
	@if [ -n "$(MPI_TAGS)" ]; then $(GO) test -count=1 -tags mpi ./reduce/mpi/; \
	else echo "make test: Open MPI not installed; the mpi build was not tested"; fi

test-race: deps
	$(GO) test -race -count=1 $(RACE_PKGS)

test-short: deps web
	$(GO) test -short ./...

# demo simulates the tiny preset, runs the pipeline with the report and
# prints the transient and variable candidates (see scripts/demo.sh).
demo: build
	./scripts/demo.sh $(BIN) $(SHARED)/data

# bench runs the quick micro-benchmarks (BENCHFLAGS='-count 10' for
# benchstat); internal/sim's BenchmarkGenerate (a whole image stack, 10 s
# or more per op) is left out.
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 200ms $(BENCHFLAGS) ./kernels/ ./internal/fitsimg/ ./internal/wcs/ ./catalog/ ./catalog/assoc/ ./reduce/ ./bench/
	$(GO) test -run '^$$' -bench 'Paint|Noise' -benchmem -benchtime 200ms $(BENCHFLAGS) ./internal/sim/

# lint also compiles the front build (see build); it is not vetted,
# because vet compiles the tests too and they link DuckDB.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOEXPERIMENT=simd $(GO) vet $(SIMD_PKGS)
	CGO_ENABLED=0 $(GO) build -tags front -o /dev/null ./cmd/gotrap/
	@if [ -n "$(MPI_TAGS)" ]; then echo "$(GO) vet -tags mpi ./reduce/..."; $(GO) vet -tags mpi ./reduce/...; fi

# fuzz runs each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz: deps
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME) ./internal/fitsimg/
	$(GO) test -run '^$$' -fuzz '^FuzzParseHeader$$' -fuzztime $(FUZZTIME) ./internal/fitsimg/
	$(GO) test -run '^$$' -fuzz '^FuzzTiled$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./internal/fitsimg/
	$(GO) test -run '^$$' -fuzz '^FuzzGzip$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./internal/fitsimg/
	$(GO) test -run '^$$' -fuzz '^FuzzRoundTrip$$' -fuzztime $(FUZZTIME) ./catalog/
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./catalog/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/config/
	$(GO) test -run '^$$' -fuzz '^FuzzEscapeName$$' -fuzztime $(FUZZTIME) ./internal/rundir/
	$(GO) test -run '^$$' -fuzz '^FuzzTableDat$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./internal/casatable/
	$(GO) test -run '^$$' -fuzz '^FuzzTSMHeader$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./internal/casatable/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./internal/catalogs/
	$(GO) test -run '^$$' -fuzz '^FuzzAegean$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./internal/catalogs/
	$(GO) test -run '^$$' -fuzz '^FuzzPyBDSF$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./internal/catalogs/
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./internal/wire/
	$(GO) test -run '^$$' -fuzz '^FuzzMessages$$' -fuzztime $(FUZZTIME) ./internal/pipeline/
	for f in FuzzParseScontrol FuzzParseSqueue FuzzParseSacct FuzzParseSubmit FuzzParseTimeLimit FuzzParseMemory FuzzTasksOnNode; do \
	  $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) ./slurm/ || exit 1; done

# golden regenerates the WCS reference values with astropy (wcslib); the
# tests themselves need neither. See testdata/wcsgolden/README.md.
golden:
	@dpkg-query -W -f='$${Status}' python3-astropy 2>/dev/null | grep -q 'ok installed' || \
	  (DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-astropy)
	/usr/bin/python3 testdata/wcsgolden/gen_wcs_golden.py $(SHARED)/data testdata/wcsgolden

# screenshots regenerates docs/report-*.png: the report of the tiny
# simulated run in headless Chromium at 1400 and 800 px wide
# (TestReportBrowser with GOTRAP_SCREENSHOTS=docs).
screenshots: deps web
	GOTRAP_SCREENSHOTS=$(CURDIR)/docs $(GO) test -count=1 -run '^TestReportBrowser$$' ./cmd/gotrap/

clean:
	rm -rf bin
