# fleeting-plugin-ec2spot
GO          ?= go
PKG         := gitlab.com/ec2spot/fleeting-plugin-ec2spot
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null | sed 's/^v//' || echo dev)
REVISION    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BUILT       ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS     := -s -w \
	-X main.version=$(VERSION) \
	-X main.revision=$(REVISION) \
	-X main.buildDate=$(BUILT)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
TEST_FLAGS  ?= -race -timeout 20m

.PHONY: all build test lint demo sim bench clean

all: lint test build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/fleeting-plugin-ec2spot ./cmd/fleeting-plugin-ec2spot
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/ec2spot-sim ./cmd/ec2spot-sim

test:
	$(GO) mod download
	$(GO) test $(TEST_FLAGS) ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# The main job on the embedded simulated AWS: no credentials needed.
demo:
	$(GO) run ./cmd/ec2spot-demo

# Serve the simulated AWS on 127.0.0.1 for manual use.
sim:
	$(GO) run ./cmd/ec2spot-sim -create-group

clean:
	rm -rf bin dist demo-out
