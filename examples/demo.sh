#!/usr/bin/env bash
# The quick start in one command: builds gwc, compiles ./examples/coolstore into an
# ingress binary, starts the demo backend and the ingress on 127.0.0.1, and
# sends the requests that prove it works. It then keeps serving until
# Ctrl-C; with --check it stops after the proof (make test runs it so).
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
[[ "${1:-}" == "--check" ]] && check=true

# The demo's ports are fixed (the example ServiceEntry names 127.0.0.1:9080),
# so demos and the example test in other checkouts take turns.
exec 9>/tmp/gwc-demo-ports.lock
flock -w 300 9 || { echo "demo: another demo holds the ports" >&2; exit 1; }

mkdir -p bin
go build -o bin/gwc ./cmd/gwc
go build -o bin/demo-backend ./examples/demo-backend
bin/gwc build -o bin/ingress ./examples/coolstore

bin/demo-backend --addr 127.0.0.1:9080 &
backend=$!
# Gateway port 80 is served on 127.0.0.1:8080, as Istio serves a Gateway
# port on the Service's targetPort; no root needed.
bin/ingress --listen 80=127.0.0.1:8080 --status-addr 127.0.0.1:15021 --admin-addr 127.0.0.1:15000 &
ingress=$!
trap 'kill $backend $ingress 2>/dev/null; wait 2>/dev/null' EXIT

for _ in $(seq 100); do
  curl -fsS -o /dev/null http://127.0.0.1:15021/healthz/ready 2>/dev/null && break
  sleep 0.1
done

echo
echo '$ curl -H "Host: webapp.istioinaction.io" http://127.0.0.1:8080/api/catalog'
body=$(curl -sS -H 'Host: webapp.istioinaction.io' http://127.0.0.1:8080/api/catalog)
echo "$body"
echo '$ curl -o /dev/null -w "%{http_code}" -H "Host: other.example.com" http://127.0.0.1:8080/'
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Host: other.example.com' http://127.0.0.1:8080/)
echo "$code"

if ! grep -q '"service": "webapp"' <<<"$body" || [[ "$code" != 404 ]]; then
  echo "demo: FAILED: the ingress did not route as expected" >&2
  exit 1
fi
echo "demo: ok: webapp.istioinaction.io reached the demo backend, another host got 404"
if ! $check; then
  echo "serving on 127.0.0.1:8080 (Gateway port 80); Ctrl-C to stop"
  wait $ingress
fi
