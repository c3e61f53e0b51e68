# kubectl-konnect. `make demo` and `make test` are the two commands a newcomer needs.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
GO ?= go
K8S_VERSION ?= 1.37.2
# Built from Go modules on first use (minutes), then cached under bin/k8s/.
ENVTEST_ASSETS = $(shell K8S_VERSION=$(K8S_VERSION) hack/envtest-binaries.sh)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null)
# Minutes-long measurements that want a quiet machine: `make load` runs them, `make test` leaves them out
# (not run at all, so no test reports SKIP).
MEASUREMENTS := ^(TestWebhookLoad|TestHardeningApplyLatency)$$
FULL_COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
ARCH ?= $(shell $(GO) env GOARCH)
IMAGE_REPO ?= ghcr.io/kubectl-konnect/webhook
LDFLAGS := -X github.com/kubectl-konnect/kubectl-konnect/pkg/version.Version=$(VERSION) -X github.com/kubectl-konnect/kubectl-konnect/pkg/version.Commit=$(COMMIT)

# The real operators' source (../shared/operators beside the checkout; OPERATORS_DIR overrides), built
# once into bin/operators for the real-operator suites (test/realop).
OPERATORS_DIR ?= $(firstword $(wildcard $(CURDIR)/../shared/operators /work/shared/operators))
OPERATORS_BIN := $(CURDIR)/bin/operators

.PHONY: all build test unit vet fmt-check tidy-check envtest operators demo dist dist-go lint-ci image clean fuzz load

all: build

build: ## Build the plugin and the webhook into bin/
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/kubectl-konnect ./cmd/kubectl-konnect
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/webhook ./cmd/webhook

envtest: ## Build (once) kube-apiserver and etcd for the tests
	@K8S_VERSION=$(K8S_VERSION) hack/envtest-binaries.sh >/dev/null

operators: ## Build (once) the real kong-operator 2.1.9 and KGO 1.6.2 from ../shared/operators (about 15 min each, cold)
	@if [[ -z "$(OPERATORS_DIR)" ]]; then echo "operators: no ../shared/operators beside this checkout (set OPERATORS_DIR): the real-operator suites (test/realop) cannot run"; exit 0; fi; \
	mkdir -p "$(OPERATORS_BIN)"; \
	for spec in kong-operator-v2.1.9:kong-operator-2.1.9 gateway-operator-v1.6.2:kgo-1.6.2; do \
	  src="$(OPERATORS_DIR)/$${spec%%:*}"; out="$(OPERATORS_BIN)/$${spec##*:}"; \
	  if [[ -x "$$out" && -z "$$(find "$$src" -newer "$$out" -print -quit)" ]]; then continue; fi; \
	  echo ">> building $$out from $$src"; start=$$(date +%s); \
	  (cd "$$src" && $(GO) build -mod=readonly -trimpath -o "$$out" ./cmd/main.go); \
	  echo ">> built $$out in $$(( $$(date +%s) - start ))s"; \
	done

test: fmt-check tidy-check vet envtest operators ## All tests, including envtest + kubectl end-to-end tests on the CRD profiles (README: Which suites run where)
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" $(GO) test -count=1 -timeout 60m $(GOTESTFLAGS) -skip '$(MEASUREMENTS)' $$($(GO) list ./... | grep -v /test/realop)
	@# The real operators after the rest, not beside it: two operators and their API servers next to the
	@# e2e suites would load 2 cores past what the suites' timeouts assume.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" $(GO) test -count=1 -timeout 30m $(GOTESTFLAGS) ./test/realop

unit: ## Tests that need no API server
	$(GO) test -count=1 ./pkg/...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './bin/*')); \
	if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# go.mod and go.sum must be what `go mod tidy` makes of them (Go 1.23+:
# -diff prints the change and fails, and writes nothing).
tidy-check:
	@if ! diff=$$($(GO) mod tidy -diff 2>&1); then echo "go.mod/go.sum are not tidy: run go mod tidy"; echo "$$diff"; exit 1; fi

demo: envtest ## Start the local stack: API server (kong-operator 2.2 and Gateway API CRDs), fake Konnect, KGO stand-in; both roads to Konnect
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" $(GO) run ./hack/demo $(DEMO_ARGS)

# GoReleaser runs offline here (GOPROXY=off after one download): a snapshot
# needs nothing but the module cache and git. Building GoReleaser itself takes
# minutes the first time (cached in bin/tools).
dist: ## Release archives (linux/darwin/windows x amd64/arm64), sha256 sums and the krew manifest with GoReleaser (.goreleaser.yaml), a local snapshot; krew's validator checks the manifest
	$(GO) mod download
	GOPROXY=off "$$(hack/tools/tool.sh goreleaser)" release --snapshot --clean
	$(GO) run ./hack/dist -validate dist/krew/konnect.yaml

dist-go: ## The same archives with the go command alone (hack/dist), no GoReleaser build: what the krew end-to-end test installs
	$(GO) run ./hack/dist -out dist

lint-ci: ## actionlint on .github/workflows, GoReleaser's own loader on .goreleaser.yaml (tools built once into bin/tools)
	"$$(hack/tools/tool.sh actionlint)" -no-color .github/workflows/ci.yml .github/workflows/release.yml
	"$$(hack/tools/tool.sh goreleaser-checkconfig)" .goreleaser.yaml

# The release build of a binary: static, stripped, trimmed (the archives and
# the image carry binaries built this way).
RELEASE_BUILD = CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)"

image: ## Webhook image, no Docker daemon: OCI layout in bin/image/webhook-$(ARCH), digest on stdout
	GOOS=linux GOARCH=$(ARCH) $(RELEASE_BUILD) -o bin/linux_$(ARCH)/webhook ./cmd/webhook
	$(GO) run ./hack/image -binary bin/linux_$(ARCH)/webhook -arch $(ARCH) -version $(VERSION) -revision $(FULL_COMMIT) \
	  -tag $(IMAGE_REPO):$(VERSION) -out bin/image/webhook-$(ARCH)

# Every fuzz target, as package:Target. `make fuzz` runs each for FUZZTIME
# (go test keeps what it finds in the package's testdata/fuzz, where it
# becomes a regression seed that every `go test` runs), then lists failures.
FUZZTIME ?= 30s
FUZZPARALLEL ?= 2
# Go minimizes every new interesting input for up to 60 s by default: on a
# slow target (FuzzParse) that eats the whole FUZZTIME.
FUZZMINIMIZETIME ?= 5s
FUZZ_TARGETS = \
	./pkg/webhook:FuzzAdmissionReview ./pkg/webhook:FuzzAdmissionObject ./pkg/rules:FuzzFindings \
	./pkg/manifest:FuzzParse \
	./pkg/cert:FuzzDecodeCertsPEM ./pkg/cert:FuzzDecodeKeyPEM ./pkg/cert:FuzzParsePair ./pkg/cert:FuzzHumanDuration \
	./pkg/cmd/init:FuzzParseEndpoint ./pkg/cmd/init:FuzzParseServerURL ./pkg/check:FuzzParseEndpoint

fuzz: ## Run every fuzz target for FUZZTIME each (default 30s)
	@failed=(); for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; echo ">> $$pkg $$name ($(FUZZTIME))"; \
	  $(GO) test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) -parallel $(FUZZPARALLEL) 2>&1 | tail -n 25 || failed+=("$$t"); \
	done; \
	if (( $${#failed[@]} )); then echo "fuzz: failed: $${failed[*]}"; exit 1; fi; echo "fuzz: all $(words $(FUZZ_TARGETS)) targets passed"

# The measurements of issue 8 (docs/HARDENING.md): the webhook under load
# with churn and a certificate rotation, and the latency kubectl apply gains
# from the webhook. Bounded (a few minutes), loopback only; `make test` skips them.
load: envtest ## Load, rotation and apply-latency measurements (docs/HARDENING.md)
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" $(GO) test -count=1 -timeout 20m -v -run '^TestWebhookLoad$$' ./pkg/webhook
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" $(GO) test -count=1 -timeout 45m -v -run '^TestHardeningApplyLatency$$' ./test/e2e

clean:
	rm -rf bin .demo dist
