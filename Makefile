# gwc: make help lists the targets.
GO ?= go

.PHONY: help build test oracle demo bench microbench lint update check

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

build: ## build gwc into bin/gwc
	$(GO) build -o bin/gwc ./cmd/gwc

test: ## run every test: vet, unit, golden, end-to-end, cue vet of the examples, the quick start
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	$(GO) test ./...
	$(GO) tool cue vet -c -d '#Resource' ./schema/ schema/testdata/valid.yaml $$(find examples -name '*.yaml' | sort)
	examples/demo.sh --check
	schema/testdata/hooks.sh

oracle: ## gwc vet --resource-only against Istio's own validation, on the repo's resources and a generated corpus (docs/validation.md)
	cd oracle && $(GO) vet . && $(GO) test -count=1 -v .

demo: ## build ./examples/coolstore into an ingress and serve it with the demo backend
	examples/demo.sh

bench: ## side-by-side with nginx, HAProxy, Caddy; start and size (installs them; see docs/benchmarks.md)
	bench/run.sh

microbench: ## micro-benchmarks (host lookup, routing)
	$(GO) test -run '^$$' -bench . -benchmem ./runtime/... ./codegen/...

lint: ## gofmt and go vet
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"
	$(GO) vet ./...

update: ## rewrite golden files
	$(GO) test ./... -update

check: update ## regenerate goldens and fail if anything changed
	git diff --exit-code
