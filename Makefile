# Build tags used by every target: no cgo libraries are needed.
TAGS := containers_image_openpgp exclude_graphdriver_btrfs
GO ?= go
GOFLAGS_TAGS := -tags "$(TAGS)"
BIN := bin/imagectl
# The demo (an imagectl with the `demo` command, which starts a registry in its process) is
# built with one more tag, so the registry server is not linked into bin/imagectl. The tests
# and vet see the demo's files too.
DEMO_TAGS := -tags "$(TAGS) imagectl_demo"
DEMO_BIN := bin/imagectl-demo

.PHONY: all build test stress demo lint fuzz vuln bench bench-tools bench-stores bench-scale bench-compare bench-load-save bench-registry clean

all: build

build:
	$(GO) build $(DEMO_TAGS) ./...
	$(GO) build $(GOFLAGS_TAGS) -o $(BIN) ./cmd/imagectl

# The tests need no network and no /etc/containers; as root they use a vfs store in a temp dir.
test:
	$(GO) test $(DEMO_TAGS) -count=1 -timeout 45m ./...

# Each fuzz target of the root package (go test -list '^Fuzz'; FUZZ=regexp picks some) for
# FUZZTIME, one after the other; FUZZFLAGS adds go test flags (e.g. FUZZFLAGS=-parallel=1 on a shared machine). The
# seed corpora (testdata/fuzz/) run in `make test` too; a crash found is written there as a
# new seed: keep it, it is then a regular test. Minimizing each new input for go's default
# 60s would take most of a short run for the slower (load) targets: 1s.
FUZZTIME ?= 30s
FUZZFLAGS ?= -fuzzminimizetime=1s
FUZZ ?= ^Fuzz

fuzz:
	@targets=$$($(GO) test $(GOFLAGS_TAGS) -list '$(FUZZ)' . | grep '^Fuzz'); \
	  for t in $$targets; do \
	    echo "== $$t ($(FUZZTIME))"; \
	    $(GO) test $(GOFLAGS_TAGS) -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $(FUZZFLAGS) . || exit 1; \
	  done

# govulncheck (golang.org/x/vuln, pinned, built from the module proxy into bin/) over the
# module. Its database is vuln.go.dev: where that cannot be reached, make vuln says so and
# succeeds, as it is no gate here; SECURITY.md lists the advisories our pinned versions fix.
# VULNFLAGS adds govulncheck flags (e.g. -db file:///path/to/a/mirror, -show verbose).
GOVULNCHECK_VERSION ?= v1.9.0
VULNFLAGS ?=

vuln:
	@mkdir -p bin
	GOBIN=$(CURDIR)/bin $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)
	@./bin/govulncheck -tags $(subst $(space),$(comma),$(TAGS)) $(VULNFLAGS) ./... > bin/vuln.out 2>&1; rc=$$?; \
	  cat bin/vuln.out; \
	  if [ $$rc -ne 0 ] && grep -q 'fetching vulnerabilities' bin/vuln.out; then \
	    echo "make vuln: the vulnerability database cannot be reached from here, so nothing was checked"; \
	    echo "make vuln: (not a failure: see SECURITY.md for the advisories the pinned versions fix)"; \
	    exit 0; \
	  fi; \
	  exit $$rc

# The main job: real archives from testdata/ into a throwaway store, then everything imagectl can do.
demo: build
	$(GO) build $(DEMO_TAGS) -o $(DEMO_BIN) ./cmd/imagectl
	./$(DEMO_BIN) demo --testdata testdata

# The long variants of the reliability tests (make test runs them short): 4 worker processes
# and a lister, 50 cycles each, 3 runs; the same from goroutines under the race detector;
# crash storms killed at 20 points of a cycle per operation.
stress:
	IMAGE_STRESS=1 $(GO) test $(GOFLAGS_TAGS) -count=1 -timeout 60m -v -run 'TestStressProcesses|TestCrashConsistency|TestConcurrentPullsAndLoads' .
	IMAGE_STRESS=1 $(GO) test $(GOFLAGS_TAGS) -race -count=1 -timeout 60m -v -run 'TestStressGoroutines' .

lint:
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(GOFLAGS_TAGS) ./...
	$(GO) vet $(DEMO_TAGS) ./cmd/imagectl

# The scale benchmarks (bench_scale_test.go) run on stores made by bench/nstore, cached in
# $(IMAGE_BENCH_DIR)/sN for N in $(IMAGE_BENCH_SIZES); bench-stores builds the missing ones
# (O(N²) in c/storage: about 15 minutes for 5,000 images). Without IMAGE_BENCH_DIR they skip.
# BENCHFLAGS adds go test flags, e.g. BENCHFLAGS='-bench Scale -count 3'.
IMAGE_BENCH_SIZES ?= 500 2000 5000
BENCH_BIN := bin/bench
BENCHFLAGS ?= -bench .

bench-tools:
	$(GO) build $(GOFLAGS_TAGS) -o $(BIN) ./cmd/imagectl
	$(GO) build $(GOFLAGS_TAGS) -o $(BENCH_BIN)/nstore ./bench/nstore
	$(GO) build $(GOFLAGS_TAGS) -o $(BENCH_BIN)/floor ./bench/nstore/floor
	$(GO) build $(GOFLAGS_TAGS) -o $(BENCH_BIN)/chart ./bench/chart

bench-stores: bench-tools
	@if [ -z "$(IMAGE_BENCH_DIR)" ]; then echo "bench-stores: set IMAGE_BENCH_DIR"; exit 1; fi
	@for n in $(IMAGE_BENCH_SIZES); do \
	  d=$(IMAGE_BENCH_DIR)/s$$n; \
	  if [ -s $$d/nstore.json ] && grep -q "\"apps\": $$n," $$d/nstore.json; then continue; fi; \
	  echo "building $$d ($$n app images)"; \
	  ./$(BENCH_BIN)/nstore -root $$d -n $$n -chain 51 -deep 100 || exit 1; \
	done

comma := ,
empty :=
space := $(empty) $(empty)
# the sizes go to the benchmarks comma separated (remove_test.go's benchSizes reads commas)
BENCH_ENV := $(if $(IMAGE_BENCH_DIR),IMAGE_BENCH_DIR="$(IMAGE_BENCH_DIR)" IMAGE_BENCH_SIZES="$(subst $(space),$(comma),$(strip $(IMAGE_BENCH_SIZES)))")

bench: bench-tools
	@if [ -n "$(IMAGE_BENCH_DIR)" ]; then $(MAKE) --no-print-directory bench-stores; \
	  else echo "IMAGE_BENCH_DIR is not set: the scale benchmarks skip (see BENCHMARKS.md)"; fi
	$(BENCH_ENV) $(GO) test $(GOFLAGS_TAGS) -run '^$$' $(BENCHFLAGS) -benchmem -timeout 0 ./...

# BenchmarkScale in ROUNDS (5) rounds of -count 1, so that a slow minute of a shared machine
# hits one round and not one store size; medians and growth factors in
# $(IMAGE_BENCH_DIR)/scale-DATE/summary.md (see BENCHMARKS.md).
bench-scale: bench-stores
	GO=$(GO) IMAGE_BENCH_SIZES="$(IMAGE_BENCH_SIZES)" bench/scale.sh $(IMAGE_BENCH_DIR)

# imagectl next to podman 4.3 (and the floor program) on the same stores, interleaved,
# medians; writes $(IMAGE_BENCH_DIR)/compare-DATE/ (summary.md, chart.svg); then the
# big100 load/save/import comparison (bench-load-save). Needs podman, buildah, hyperfine, jq,
# busybox-static and GNU time (see BENCHMARKS.md).
bench-compare: bench-stores
	IMAGE_BENCH_SIZES="$(IMAGE_BENCH_SIZES)" bench/compare.sh $(IMAGE_BENCH_DIR)
	$(MAKE) --no-print-directory bench-load-save

# load, save (docker-archive, oci-archive) and import of big100, imagectl vs podman vs the
# floor, interleaved, medians of RUNS (5), with peak memory; in $(IMAGE_BENCH_DIR) (or /var/tmp).
bench-load-save: bench-tools
	SCRATCH="$(or $(IMAGE_BENCH_DIR),/var/tmp)" bench/load-save.sh

# cold pull (big100, busybox), first push (gzip, zstd) and re-push of big100 through a loopback
# distribution registry (Debian's docker-registry), imagectl vs podman 4.3 vs skopeo vs the
# floor, interleaved, medians of RUNS (5); in $(IMAGE_BENCH_DIR)/benchreg (or
# /work/scratch/benchreg). Needs root, podman, buildah, skopeo, docker-registry, jq, curl, GNU
# time (see BENCHMARKS.md).
bench-registry: bench-tools
	$(GO) build $(GOFLAGS_TAGS) -o $(BENCH_BIN)/floorpull ./bench/floorpull
	SCRATCH="$(if $(IMAGE_BENCH_DIR),$(IMAGE_BENCH_DIR)/benchreg,/work/scratch/benchreg)" bench/registry.sh

clean:
	rm -rf bin
