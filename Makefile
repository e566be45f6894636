# Build tags used by every target: no cgo libraries are needed.
TAGS := containers_image_openpgp exclude_graphdriver_btrfs
GO ?= go
GOFLAGS_TAGS := -tags "$(TAGS)"
BIN := bin/imagectl

.PHONY: all build test demo lint bench clean

all: build

build:
	$(GO) build $(GOFLAGS_TAGS) ./...
	$(GO) build $(GOFLAGS_TAGS) -o $(BIN) ./cmd/imagectl

# The tests need no network and no /etc/containers; as root they use a vfs store in a temp dir.
test:
	$(GO) test $(GOFLAGS_TAGS) -count=1 ./...

# The main job: real archives from testdata/ into a throwaway store, then everything imagectl can do.
demo: build
	./$(BIN) demo --testdata testdata

lint:
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(GOFLAGS_TAGS) ./...

bench:
	$(GO) test $(GOFLAGS_TAGS) -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin
