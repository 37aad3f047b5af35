#!/usr/bin/env bash
# The quick start in one command: builds gwc, compiles ./examples (every
# example, as one gateway) into bin/ingress, makes throwaway certificates
# for the TLS examples, starts the demo backends and the ingress on
# 127.0.0.1, and sends one request per example that proves it. It then
# keeps serving until Ctrl-C; with --check it stops after the proof (make
# test runs it so).
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
[[ "${1:-}" == "--check" ]] && check=true

# The demo's ports are fixed (the examples' ServiceEntries name them), so
# demos and the example tests in other checkouts take turns.
exec 9>/tmp/gwc-demo-ports.lock
flock -w 300 9 || { echo "demo: another demo holds the ports" >&2; exit 1; }

# port ROLE: every port the demo binds, checked before anything starts.
ports=(
  8080 "the ingress (Gateway port 80)"
  8443 "the ingress (Gateway port 443)"
  31400 "the ingress (Gateway port 31400)"
  15021 "the ingress's status server"
  15000 "the ingress's admin server"
  9080 "webapp (examples/coolstore, tls/*, security-authz)"
  9081 "reviews v1-a (examples/upstreams)"
  9082 "reviews v1-b (examples/upstreams)"
  9083 "reviews v2 (examples/upstreams)"
  9084 "catalog (examples/tls/sni)"
  9090 "tcp-echo (examples/tcp-echo)"
  9443 "TLS service one (examples/tls/passthrough)"
  9444 "TLS service two (examples/tls/passthrough)"
)
busy=0
for ((i = 0; i < ${#ports[@]}; i += 2)); do
  if (: </dev/tcp/127.0.0.1/"${ports[i]}") 2>/dev/null; then
    echo "demo: 127.0.0.1:${ports[i]} is already in use; the demo needs it for ${ports[i + 1]}" >&2
    busy=1
  fi
done
if ((busy)); then
  echo "demo: stop what listens there and run again" >&2
  exit 1
fi

mkdir -p bin
go build -o bin/gwc ./cmd/gwc
go build -o bin/demo-backend ./examples/demo-backend
go build -o bin/demo-certs ./examples/demo-certs
bin/gwc build -o bin/ingress ./examples

tmp="$(mktemp -d)"
pids=()
names=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# Certificates exist only for this run: the CA, one credential per
# credentialName (the ingress's --credentials-dir), the client's and the
# passthrough services' own.
creds="$tmp/creds"
bin/demo-certs "$creds" >/dev/null

# start NAME ARGS...: a process of the demo, its log in $tmp/NAME.log.
start() {
  local name="$1"
  shift
  "$@" 2>"$tmp/$name.log" &
  pids+=($!)
  names+=("$name")
}
start webapp bin/demo-backend --addr 127.0.0.1:9080 --name webapp
start reviews-v1-a bin/demo-backend --addr 127.0.0.1:9081 --name reviews-v1-a
start reviews-v1-b bin/demo-backend --addr 127.0.0.1:9082 --name reviews-v1-b
start reviews-v2 bin/demo-backend --addr 127.0.0.1:9083 --name reviews-v2
start catalog bin/demo-backend --addr 127.0.0.1:9084 --name catalog
start tcp-echo bin/demo-backend --addr 127.0.0.1:9090 --name tcp-echo --echo
start one bin/demo-backend --addr 127.0.0.1:9443 --name one --tls-cert "$creds/one/tls.crt" --tls-key "$creds/one/tls.key"
start two bin/demo-backend --addr 127.0.0.1:9444 --name two --tls-cert "$creds/two/tls.crt" --tls-key "$creds/two/tls.key"
# Gateway ports are served on loopback ports, as Istio serves a Gateway
# port on the Service's targetPort; no root needed.
start ingress bin/ingress --credentials-dir "$creds" \
  --listen 80=127.0.0.1:8080 --listen 443=127.0.0.1:8443 --listen 31400=127.0.0.1:31400 \
  --status-addr 127.0.0.1:15021 --admin-addr 127.0.0.1:15000
ingress=${pids[-1]}

# Ready when the ingress says so and every backend accepts connections.
ready=false
for _ in $(seq 200); do
  for i in "${!pids[@]}"; do
    # An exited child stays a zombie (state Z) until waited for.
    if [[ "$(cut -d' ' -f3 "/proc/${pids[i]}/stat" 2>/dev/null)" =~ ^(Z|X|)$ ]]; then
      echo "demo: ${names[i]} exited at start:" >&2
      cat "$tmp/${names[i]}.log" >&2
      exit 1
    fi
  done
  if curl -fsS -o /dev/null http://127.0.0.1:15021/healthz/ready 2>/dev/null &&
    (for ((i = 10; i < ${#ports[@]}; i += 2)); do (: </dev/tcp/127.0.0.1/"${ports[i]}") 2>/dev/null || exit 1; done); then
    ready=true
    break
  fi
  sleep 0.1
done
$ready || { echo "demo: the ingress did not become ready; its log:" >&2; cat "$tmp/ingress.log" >&2; exit 1; }

failed=0
# show EXAMPLE WHAT: a heading for the next request.
show() { printf '\n== %s: %s\n' "$1" "$2"; }
# expect PATTERN: the last request's output must match PATTERN.
expect() {
  if grep -qE -- "$1" <<<"$out"; then
    return
  fi
  echo "demo: FAILED: want /$1/ in the output above" >&2
  failed=1
}
# run COMMAND: print the command as typed, run it where the certificates
# are (creds/), print and keep its output.
run() {
  printf '$ %s\n' "$1"
  out="$(cd "$tmp" && bash -c "$1" 2>&1)" || true
  printf '%s\n' "$out"
}

show coolstore "webapp over HTTP on port 80 (examples/coolstore)"
run 'curl -sS -H "Host: webapp.istioinaction.io" http://127.0.0.1:8080/api/catalog'
expect '"service": "webapp"'
run 'curl -sS -o /dev/null -w "%{http_code}\n" -H "Host: other.example.com" http://127.0.0.1:8080/'
expect '^404$'

# The other answers are shown by the fields that prove them.
fields="grep -E '\"(service|host)\"|Proto'"

show upstreams "a canary header picks the v2 subset of reviews (examples/upstreams)"
run "curl -sS -H 'Host: reviews.example.com' -H 'x-canary: true' http://127.0.0.1:8080/reviews/1 | $fields"
expect '"service": "reviews-v2"'

show tls/https "HTTPS on port 443, and port 80 redirected to it (examples/tls/https)"
run "curl -sS --cacert creds/ca.crt --resolve webapp.example.com:8443:127.0.0.1 https://webapp.example.com:8443/api/catalog | $fields"
expect '"X-Forwarded-Proto": "https"'
expect '"service": "webapp"'
run 'curl -sS -o /dev/null -w "%{http_code} %{redirect_url}\n" -H "Host: webapp.example.com" http://127.0.0.1:8080/api/catalog'
expect '^301 https://webapp.example.com/api/catalog$'

show tls/mtls "mutual TLS: a client certificate is required (examples/tls/mtls)"
run "curl -sS --cacert creds/ca.crt --cert creds/client/tls.crt --key creds/client/tls.key --resolve secure.example.com:8443:127.0.0.1 https://secure.example.com:8443/ | grep -oE '\"service\": \"[a-z]+\"|Subject=[^;]*'"
expect '"service": "webapp"'
expect 'Subject=\\"CN=client.example.com'
# Without one the handshake is refused: no HTTP status (000).
run 'curl -s -o /dev/null -w "%{http_code}\n" --cacert creds/ca.crt --resolve secure.example.com:8443:127.0.0.1 https://secure.example.com:8443/'
expect '^000$'

show tls/sni "two hosts on port 443, each with its own certificate (examples/tls/sni)"
# curl checks that the certificate is the host's: SNI chose it.
run "curl -sS --cacert creds/ca.crt --resolve catalog.example.com:8443:127.0.0.1 https://catalog.example.com:8443/ | $fields"
expect '"service": "catalog"'
run "curl -sS --cacert creds/ca.crt --resolve shop.example.com:8443:127.0.0.1 https://shop.example.com:8443/ | $fields"
expect '"host": "shop.example.com'

show tls/passthrough "one.example.com on port 443 is the TLS service's own (examples/tls/passthrough)"
# The service decrypts the request itself: it sees only what curl sent,
# none of the headers (X-Forwarded-Proto, X-Request-Id) the ingress adds to
# the requests it terminates.
run 'curl -sS --cacert creds/ca.crt --resolve one.example.com:8443:127.0.0.1 https://one.example.com:8443/'
expect '"service": "one"'
if grep -q 'X-Request-Id' <<<"$out"; then
  echo "demo: FAILED: the TLS service saw X-Request-Id: the ingress terminated TLS" >&2
  failed=1
fi

show security-jwt "JWTs verified at the gateway; admins routed on their token's group claim (examples/security-jwt)"
run "curl -sS -H 'Host: jwt.example.com' -H \"Authorization: Bearer \$(cat $PWD/examples/security-jwt/admin.jwt)\" http://127.0.0.1:8080/headers | grep -E 'X-(Route|Jwt-Group)'"
expect '"X-Route": "admins"'
expect '"X-Jwt-Group": "admin"'
run "curl -sS -H 'Host: jwt.example.com' http://127.0.0.1:8080/headers | grep -E 'X-(Route|Jwt-Group)'"
expect '"X-Route": "everyone"'
run 'curl -sS -i -H "Host: jwt.example.com" -H "Authorization: Bearer not.a.token" http://127.0.0.1:8080/headers | grep -iE "^HTTP|^www-authenticate|Jwt"'
expect '^HTTP/1.1 401'
expect '[Ww]ww-[Aa]uthenticate: Bearer realm="http://jwt.example.com/headers", error="invalid_token"'
run 'curl -sS -i -H "Host: jwt.example.com" http://127.0.0.1:8080/admin/headers | grep -E "^HTTP|RBAC"'
expect '^HTTP/1.1 403'
expect '^RBAC: access denied'

show tcp-echo "TCP on port 31400 to the echo service (examples/tcp-echo)"
run 'exec 3<>/dev/tcp/127.0.0.1/31400; echo "hello over TCP" >&3; read -r -t 5 line <&3; echo "$line"'
expect '^hello over TCP$'

show security-authz "AuthorizationPolicy: deny by method, an IP allow list (examples/security-authz)"
run 'curl -sS -o /dev/null -w "%{http_code}\n" -H "Host: httpbin.example.com" http://127.0.0.1:8080/get'
expect '^200$'
run 'curl -sS -w " %{http_code}\n" -X DELETE -H "Host: httpbin.example.com" http://127.0.0.1:8080/delete'
expect '^RBAC: access denied 403$'
# From another loopback address: not on the allow list.
run 'curl -sS -w " %{http_code}\n" --interface 127.0.0.2 -H "Host: httpbin.example.com" http://127.0.0.1:8080/get'
expect '^RBAC: access denied 403$'

echo
if ((failed)); then
  echo "demo: FAILED: see above; the ingress log:" >&2
  cat "$tmp/ingress.log" >&2
  exit 1
fi
echo "demo: ok: one ingress built from ./examples served every example"
if ! $check; then
  echo "serving Gateway ports 80, 443 and 31400 on 127.0.0.1:8080, 8443 and 31400 (credentials in $creds); Ctrl-C to stop"
  wait "$ingress"
fi
