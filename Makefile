# fleeting-plugin-ec2spot
GO          ?= go
PKG         := gitlab.com/ec2spot/fleeting-plugin-ec2spot
# The tag without its v; "dev" outside a git checkout.
VERSION     ?= $(shell v=$$(git describe --tags --always --dirty 2>/dev/null) && echo "$${v#v}" || echo dev)
REVISION    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BUILT       ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS     := -s -w \
	-X main.version=$(VERSION) \
	-X main.revision=$(REVISION) \
	-X main.buildDate=$(BUILT)
# golangci-lint is a tool of its own module, tools/go.mod, so its ~200
# dependencies stay out of the plugin's go.mod and version selection; `go
# tool` fetches it from the module proxy and caches the built binary.
# Upgrade: cd tools && go get -tool github.com/golangci/golangci-lint/v2/cmd/golangci-lint@vX.Y.Z
GOLANGCI_LINT := $(GO) tool -modfile=tools/go.mod golangci-lint
TEST_FLAGS  ?= -race -count=1 -timeout 20m

.PHONY: all build test lint demo sim bench clean property

all: lint test build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/fleeting-plugin-ec2spot ./cmd/fleeting-plugin-ec2spot
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/ec2spot-sim ./cmd/ec2spot-sim

# The first run compiles every package twice (-race for the tests, plain for
# the plugin binaries the integration tests start): say so before the wait.
test:
	$(GO) mod download
	@echo "make test: compiling and running every package with -race (2 cores: first run about 11 min and up to 4 GiB of memory, the SDK's EC2 package alone 3 GiB; later runs about 3 min) ..."
	$(GO) test $(TEST_FLAGS) ./...

# gofmt, then golangci-lint with .golangci.yml (go vet's analyzers,
# staticcheck, errcheck, errorlint, gocritic, revive and more). On 2 cores
# the first run (empty build cache) takes about 3.5 min and up to 3.6 GiB
# of memory: it builds golangci-lint (1.5 min), then type-checks every
# package with the AWS SDK. Later runs take seconds (10 s after a change in
# ec2spot/).
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GOLANGCI_LINT) run ./...

# A workload scenario on the embedded simulated AWS, ours vs official-like
# side by side (no credentials): `make demo SCENARIO=outage`;
# `make demo RUNS=5 [SEED=1] [SCENARIO=all]` prints medians and ranges.
SCENARIO ?= default
RUNS ?= 1
SEED ?= 0
demo:
	@echo "make demo: compiling (first run on 2 cores: about 2 min of compiling, 3.3 GiB of memory for the SDK's EC2 package), then running scenario $(SCENARIO) ..."
	$(GO) run ./cmd/ec2spot-demo -scenario $(SCENARIO) -runs $(RUNS) -seed $(SEED)

# docs/report.png from the last demo's report (make demo first), rendered
# by headless Chromium (Debian: apt-get install chromium); skipped with a
# message when no Chromium is installed. REPORT_SIZE is the window.
REPORT      ?= demo-out/report.html
REPORT_SIZE ?= 1200,1500
CHROMIUM    ?= $(shell command -v chromium || command -v chromium-browser || command -v google-chrome || command -v google-chrome-stable)
.PHONY: report-png
report-png:
	@if [ -z "$(CHROMIUM)" ]; then echo "report-png: skipped: no chromium (apt-get install chromium, or set CHROMIUM=/path/to/chrome)"; exit 0; fi; \
	test -f "$(REPORT)" || { echo "report-png: $(REPORT) missing: run make demo first"; exit 1; }; \
	profile=$$(mktemp -d); trap 'rm -rf "$$profile"' EXIT; \
	"$(CHROMIUM)" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
		--user-data-dir="$$profile" --window-size=$(REPORT_SIZE) --screenshot="$(CURDIR)/docs/report.png" \
		"file://$$(realpath "$(REPORT)")" >"$$profile/log" 2>&1 || { cat "$$profile/log"; exit 1; }; \
	echo "report-png: docs/report.png from $(REPORT) ($(REPORT_SIZE))"

# Serve the simulated AWS on 127.0.0.1 for manual use.
sim:
	$(GO) run ./cmd/ec2spot-sim -create-group

# Benchmarks through the plugin binary against the simulator (50 ms API
# latency); prints the table BENCHMARKS.md keeps. Each benchmark runs once
# (-benchtime 1x): the samples per figure are set inside.
BENCH_FLAGS ?=
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 10m ./integration/bench/ -args $(BENCH_FLAGS)

# The model-based test of issue 12 at length: PROPERTY_RUNS seeds from
# PROPERTY_SEED (default: a random one, printed), PROPERTY_STEPS steps each;
# PROPERTY_SHRINK=1 shrinks each failing run to a minimal step sequence.
# `make test` runs 3 seeds of 40 steps.
PROPERTY_RUNS  ?= 50
PROPERTY_STEPS ?= 80
ifeq ($(origin PROPERTY_SEED),undefined)
PROPERTY_SEED  := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif
property:
	@echo "property: PROPERTY_SEED=$(PROPERTY_SEED) PROPERTY_RUNS=$(PROPERTY_RUNS) PROPERTY_STEPS=$(PROPERTY_STEPS)"
	PROPERTY_SEED=$(PROPERTY_SEED) PROPERTY_RUNS=$(PROPERTY_RUNS) PROPERTY_STEPS=$(PROPERTY_STEPS) \
		$(GO) test -count=1 -timeout 0 -v -run '^TestProperty$$' ./integration/property/

clean:
	rm -rf bin dist demo-out

# --- Distribution ----------------------------------------------------------
# dist/ in fleeting-artifact's layout, dist/<os>/<arch>[variant]/plugin[.exe]
# (the directory names its releaser reads: 32-bit ARM is linux/armv6 and
# linux/armv7, not linux/arm), one flat directory per platform, plus
# dist/SHA256SUMS (sha256sum format, paths relative to dist/).
# fleeting-artifact is a go.mod tool (pinned there, the version the tests use).
FLEETING_ARTIFACT := $(GO) tool fleeting-artifact
DIST_DIR          ?= dist
DIST_PLATFORMS    ?= linux/amd64 linux/arm64 linux/armv6 linux/armv7 linux/386 linux/s390x linux/ppc64le \
	darwin/amd64 darwin/arm64 windows/amd64 freebsd/amd64
# Repository a release is pushed to; prereleases go to $(RELEASE_IMAGE)/prerelease.
RELEASE_IMAGE     ?= $(CI_REGISTRY_IMAGE)

.PHONY: dist dist-check release

dist:
	rm -rf $(DIST_DIR)
	@set -e; for p in $(DIST_PLATFORMS); do \
		os=$${p%%/*}; arch=$${p#*/}; goarm=; ext=; \
		case $$arch in armv*) goarm=$${arch#armv}; arch=arm;; esac; \
		[ $$os = windows ] && ext=.exe; \
		echo "dist: $$p ($(VERSION))"; \
		env CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $${goarm:+GOARM=$$goarm} \
			$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST_DIR)/$$p/plugin$$ext ./cmd/fleeting-plugin-ec2spot; \
	done
	cd $(DIST_DIR) && find . -type f -name 'plugin*' | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum > SHA256SUMS
	@cat $(DIST_DIR)/SHA256SUMS

# Checksums match, every platform is present, and the host binary (when
# built) reports $(VERSION).
dist-check:
	cd $(DIST_DIR) && sha256sum -c --quiet SHA256SUMS
	@set -e; for p in $(DIST_PLATFORMS); do \
		ls $(DIST_DIR)/$$p/plugin* >/dev/null || { echo "dist-check: $$p missing"; exit 1; }; \
	done
	@host=$(DIST_DIR)/$$($(GO) env GOOS)/$$($(GO) env GOARCH)/plugin; \
	if [ -x $$host ]; then \
		$$host version | grep -qx 'Version: *$(VERSION)' || { $$host version; echo "dist-check: $$host is not version $(VERSION)"; exit 1; }; \
	fi
	@echo "dist-check: $(DIST_DIR) ok for $(VERSION)"

# Publish dist/ as $(RELEASE_IMAGE):$(VERSION) with fleeting-artifact, which
# moves the latest, <major> and <major>.<minor> aliases. Prereleases
# (X.Y.Z-pre) go to a separate repository: the aliases would move to them,
# while the runner's version resolution never selects a prerelease.
release: dist-check
	@test -n "$(RELEASE_IMAGE)" || { echo "release: set RELEASE_IMAGE (or CI_REGISTRY_IMAGE)"; exit 1; }
	@set -e; case "$(VERSION)" in \
		*-*) repo="$(RELEASE_IMAGE)/prerelease";; \
		*) repo="$(RELEASE_IMAGE)";; \
	esac; \
	echo "release: $$repo:$(VERSION)"; \
	$(FLEETING_ARTIFACT) release -dir $(DIST_DIR) "$$repo:$(VERSION)"

# Log fleeting-artifact (Docker CLI config: $DOCKER_CONFIG or ~/.docker) in
# to the registry; CI passes the job's registry credentials.
REGISTRY          ?= $(CI_REGISTRY)
REGISTRY_USER     ?= $(CI_REGISTRY_USER)

.PHONY: release-login

release-login:
	@test -n "$(REGISTRY)" -a -n "$(REGISTRY_USER)" -a -n "$$REGISTRY_PASSWORD$$CI_REGISTRY_PASSWORD" || { echo "release-login: set REGISTRY, REGISTRY_USER and REGISTRY_PASSWORD"; exit 1; }
	@printf '%s' "$${REGISTRY_PASSWORD:-$$CI_REGISTRY_PASSWORD}" | $(FLEETING_ARTIFACT) login -username "$(REGISTRY_USER)" -password-stdin "$(REGISTRY)"

# Fuzz each target for FUZZ_TIME (their seed corpora also run in `make test`).
FUZZ_TIME ?= 20s
FUZZ_TARGETS := ./provider:FuzzDecodeConfig ./ec2spot:FuzzLifecycleMapping ./ec2spot:FuzzEventParsing \
	./integration/awssim:FuzzAPIRequest

.PHONY: fuzz

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t#*:}; \
		echo "fuzz: $$fn ($$pkg, $(FUZZ_TIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZ_TIME) $$pkg; \
	done
