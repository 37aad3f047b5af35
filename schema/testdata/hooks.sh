#!/usr/bin/env bash
# hooks.sh: end-to-end test of the pre-commit hooks with the real
# pre-commit and the real cue, configured exactly as README.md shows: the
# snippets are read from README.md (the blocks after the "hooks.sh:"
# markers). Two scratch git repositories, one per form:
#   - local: repo: local hooks running the gwc and cue on PATH, with the
#     schema file written by the README's setup command;
#   - remote: this checkout (its working tree, committed into a scratch
#     clone) as the hook repository of .pre-commit-hooks.yaml, the
#     README's placeholder URL and rev replaced by the clone and its commit.
# In each, a commit of good manifests must pass both hooks and a commit of
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
# gwc for the local hooks, built from this checkout as a user's
# go install would.
mkdir "$tmp/gwcbin"
(cd "$root" && go build -o "$tmp/gwcbin/gwc" ./cmd/gwc)
export PATH="$tmp/bin:$PATH"
# pre-commit builds the golang hook (go install ./...) with GOPATH in its
# own cache; sharing the module and build caches makes that fast, and
# GOPROXY=off shows it needs no network once the modules are downloaded.
export GOMODCACHE="$(go env GOMODCACHE)" GOCACHE="$(go env GOCACHE)" GOPROXY=off
export PRE_COMMIT_HOME="$tmp/cache"

# snippet NAME prints the code block after <!-- hooks.sh: NAME --> in
# README.md.
snippet() {
  awk -v m="<!-- hooks.sh: $1 -->" '
    state == 0 && $0 == m { state = 1; next }
    state == 1 && /^```/ { state = 2; next }
    state == 2 && /^```/ { exit }
    state == 2 { print }' "$root/README.md"
}

# run_form NAME: a scratch repository with .pre-commit-config.yaml from
# $tmp/$NAME.yaml; good commit passes, bad commit refused by both hooks.
run_form() {
  local form="$1" dir="$tmp/user-$1"
  mkdir "$dir"
  cd "$dir"
  git init -q
  cp "$tmp/$form.yaml" .pre-commit-config.yaml
  if [[ -n "${setup:-}" ]]; then
    bash -euo pipefail -c "$setup"
  fi
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
  if ! git_q commit -qm good >"$tmp/$form-good.log" 2>&1; then
    cat "$tmp/$form-good.log"
    echo "hooks.sh: FAIL ($form): the good commit was refused" >&2
    exit 1
  fi
  for hook in 'gwc vet' 'cue vet \(Istio schema\)'; do
    if ! grep -qE "^$hook\.+Passed" "$tmp/$form-good.log"; then
      cat "$tmp/$form-good.log"
      echo "hooks.sh: FAIL ($form): /$hook/ did not run and pass on the good commit" >&2
      exit 1
    fi
  done

  # A bad change to the VirtualService alone: its Gateway is in an
  # unchanged file, which gwc-vet still finds through --context.
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
  local log="$tmp/$form-bad.log"
  if git_q commit -qm bad >"$log" 2>&1; then
    cat "$log"
    echo "hooks.sh: FAIL ($form): the bad commit was accepted" >&2
    exit 1
  fi
  local fail=0 re
  for re in \
    '^gwc vet\.+Failed' \
    'deploy/web\.yaml:9:47: error GWC0103: VirtualService shop/web: spec\.http\[0\]\.route\[0\]\.destination\.port\.number: value 80800 is out of range' \
    '^ +9 \|     - destination: \{host: web, port: \{number: 80800\}\}' \
    '^cue vet \(Istio schema\)\.+Failed' \
    'invalid value 80800 \(out of bound <=65535\)'; do
    if ! grep -qE -- "$re" "$log"; then
      echo "hooks.sh: FAIL ($form): no match for /$re/ in the refused commit's output" >&2
      fail=1
    fi
  done
  if ((fail)); then
    cat "$log"
    exit 1
  fi
  echo "hooks.sh: ok ($form): the good commit passed both hooks, the bad one was refused by both"
}

# The local form: gwc and cue from PATH, the schema file from the
# README's setup command.
snippet local > "$tmp/local.yaml"
setup="$(snippet local-setup)"
grep -q 'repo: local' "$tmp/local.yaml" && [[ -n "$setup" ]] || { echo "hooks.sh: FAIL: README.md has no local hook snippet" >&2; exit 1; }
PATH="$tmp/gwcbin:$PATH" run_form local

# The remote form: the README's snippet with this checkout's scratch
# clone for its placeholder URL and rev.
setup=
snippet remote | sed -e "s|repo: https://github.com/gwc-dev/gwc|repo: $tmp/hooks|" -e "s|rev: v0\.1\.0 |rev: $rev |" > "$tmp/remote.yaml"
grep -q "repo: $tmp/hooks" "$tmp/remote.yaml" && grep -q "rev: $rev" "$tmp/remote.yaml" || {
  cat "$tmp/remote.yaml"
  echo "hooks.sh: FAIL: README.md's remote snippet no longer has the URL and rev this test replaces" >&2
  exit 1
}
run_form remote
