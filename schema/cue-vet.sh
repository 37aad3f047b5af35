#!/usr/bin/env bash
# cue-vet.sh FILE...: the pre-commit hook "cue-vet". Runs the stock cue vet
# with this directory's schema on YAML or JSON manifests: every document
# must be a #Resource (Gateway, VirtualService, DestinationRule or
# ServiceEntry). Uses cue from PATH, else the version go.mod pins.
set -euo pipefail
(($# > 0)) || exit 0
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
schema=("$here"/*.cue)
if command -v cue >/dev/null; then
  exec cue vet -c -d '#Resource' "${schema[@]}" "$@"
fi
files=()
for f in "$@"; do
  case "$f" in /*) files+=("$f") ;; *) files+=("$PWD/$f") ;; esac
done
exec go -C "$here/.." tool cue vet -c -d '#Resource' "${schema[@]}" "${files[@]}"
