#!/usr/bin/env bash
# hooks.sh: end-to-end test of .pre-commit-hooks.yaml with the real
# pre-commit and the real cue. A temporary git repository uses this
# checkout (its working tree, committed into a scratch clone) as a hook
# repository; a commit of good manifests must pass both hooks, a commit of
# a bad manifest must be refused by both with their diagnostics.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
command -v pre-commit >/dev/null || { echo "hooks.sh: pre-commit is not installed (Debian: apt-get install pre-commit)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

git_q() { git -c user.name=test -c user.email=test@example.com -c commit.gpgsign=false "$@"; }

# The hook repository: this working tree as one commit.
mkdir "$tmp/hooks"
(cd "$root" && git ls-files -co --exclude-standard -z | xargs -0 tar -cf - --) | tar -xf - -C "$tmp/hooks"
(cd "$tmp/hooks" && git init -q && git_q add -A && git_q commit -qm hooks)
rev="$(git -C "$tmp/hooks" rev-parse HEAD)"

# The real cue, from the module cache or the module proxy, at the version
# go.mod pins.
mkdir "$tmp/bin"
(cd "$root" && GOBIN="$tmp/bin" go install cuelang.org/go/cmd/cue)
export PATH="$tmp/bin:$PATH"
# pre-commit builds the golang hook (go install ./...) with GOPATH in its
# own cache; sharing the module and build caches makes that fast, and
# GOPROXY=off shows it needs no network once the modules are downloaded.
export GOMODCACHE="$(go env GOMODCACHE)" GOCACHE="$(go env GOCACHE)" GOPROXY=off
export PRE_COMMIT_HOME="$tmp/cache"

# The user's repository.
mkdir "$tmp/user"
cd "$tmp/user"
git init -q
cat > .pre-commit-config.yaml <<YAML
repos:
- repo: $tmp/hooks
  rev: $rev
  hooks:
  - id: gwc-vet
  - id: cue-vet
YAML
mkdir deploy
cat > deploy/gateway.yaml <<'YAML'
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web, namespace: shop}
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["shop.example.com"]
YAML
cat > deploy/web.yaml <<'YAML'
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [web]
  http:
  - route:
    - destination: {host: web, port: {number: 8080}}
YAML
pre-commit install >/dev/null
git_q add -A
if ! git_q commit -qm good >"$tmp/good.log" 2>&1; then
  cat "$tmp/good.log"
  echo "hooks.sh: FAIL: the good commit was refused" >&2
  exit 1
fi

# A bad change to the VirtualService alone: its Gateway is in an unchanged
# file, which gwc-vet still finds through --context.
cat > deploy/web.yaml <<'YAML'
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [web]
  http:
  - route:
    - destination: {host: web, port: {number: 80800}}
YAML
git_q add -A
if git_q commit -qm bad >"$tmp/bad.log" 2>&1; then
  cat "$tmp/bad.log"
  echo "hooks.sh: FAIL: the bad commit was accepted" >&2
  exit 1
fi
fail=0
expect() {
  if ! grep -qE -- "$1" "$tmp/bad.log"; then
    echo "hooks.sh: FAIL: no match for /$1/ in the refused commit's output" >&2
    fail=1
  fi
}
expect '^gwc vet\.+Failed'
expect 'deploy/web\.yaml:9:47: error GWC0103: VirtualService shop/web: spec\.http\[0\]\.route\[0\]\.destination\.port\.number: value 80800 is out of range'
expect '^ +9 \|     - destination: \{host: web, port: \{number: 80800\}\}'
expect '^cue vet \(Istio schema\)\.+Failed'
expect 'invalid value 80800 \(out of bound <=65535\)'
if ((fail)); then
  cat "$tmp/bad.log"
  exit 1
fi
echo "hooks.sh: ok: the good commit passed both hooks, the bad one was refused by both"
