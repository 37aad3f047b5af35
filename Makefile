# gwc: make help lists the targets.
GO ?= go

.PHONY: help build test oracle demo bench microbench fuzz lint update check soak

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

build: ## build gwc into bin/gwc
	$(GO) build -o bin/gwc ./cmd/gwc

test: ## run every test: vet, unit, golden, end-to-end, cue vet of the examples, the quick start
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	$(GO) test ./...
	$(GO) test ./runtime/internal/http1 -run '^$$' -fuzz '^FuzzDifferential$$' -fuzztime 15s
	$(GO) tool cue vet -c -d '#Resource' ./schema/ schema/testdata/valid.yaml $$(find examples -name '*.yaml' | sort)
	examples/demo.sh --check
	$(GO) run ./cmd/gwc test ./examples --tests examples-tests/routes.yaml
	schema/testdata/hooks.sh

oracle: ## gwc vet --resource-only against Istio's own validation, on the repo's resources and a generated corpus (docs/validation.md)
	cd oracle && $(GO) vet . && $(GO) test -count=1 -v .

demo: ## build ./examples into one ingress, serve it with the demo backends and prove every example
	examples/demo.sh

bench: ## side-by-side with nginx, HAProxy, Caddy; start and size (installs them; see docs/benchmarks.md)
	bench/run.sh

microbench: ## micro-benchmarks (host lookup, routing)
	$(GO) test -run '^$$' -bench . -benchmem ./runtime/... ./codegen/...

fuzz: ## fuzz the HTTP/1.1 engine and the upstream response reader against net/http (FUZZTIME each, default 5m)
	$(GO) test ./runtime/internal/http1 -run '^$$' -fuzz '^FuzzDifferential$$' -fuzztime $${FUZZTIME:-5m}
	$(GO) test ./runtime -run '^$$' -fuzz '^FuzzFastResponse$$' -fuzztime $${FUZZTIME:-5m}

soak: build ## a million mixed requests through one binary; fails on a failed request or what it keeps after idle (SOAK_REQUESTS)
	$(GO) run ./bench/soak -gwc bin/gwc -requests $${SOAK_REQUESTS:-1000000}

lint: ## gofmt and go vet
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"
	$(GO) vet ./...

# The packages whose tests define -update, the one flag that rewrites their
# golden files; only they accept it, so go test ./... -update would fail.
GOLDEN_PKGS = $(shell grep -rl --include='*_test.go' 'flag[.]Bool."update"' . | xargs -n1 dirname | sort -u)

update: ## rewrite every golden file
	$(GO) test $(GOLDEN_PKGS) -update

check: update ## regenerate goldens and fail if anything changed
	git diff --exit-code
