#!/usr/bin/env bash
# Compares gwc's gzip (klauspost) with nginx's (zlib) at the same levels, 1
# and 6, and gwc's default (5) with zlib's 6: both as reverse proxies of one
# nginx backend serving a 100 KiB JSON document, both compressing its
# responses, driven by bench/loadgen over keep-alive connections. Needs
# nginx on PATH. Ports PORT_BASE to PORT_BASE+3 on 127.0.0.1 (default
# 18081-18084).
# Usage: bench/compress-vs-nginx.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
conns=${2:-8}
base=${PORT_BASE:-18081}
backend_port=$base proxy6_port=$((base + 1)) gwc_port=$((base + 2)) proxy1_port=$((base + 3))
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/www" "$work/tmp" "$work/cfg"
{
	printf '['
	for i in $(seq 0 1500); do
		[ "$i" -gt 0 ] && printf ','
		printf '{"id":%d,"name":"item %d","tags":["a","b","c"],"price":%d.%02d}' "$i" "$i" $((i * 7 % 1000)) $((i % 100))
	done
	printf ']'
} >"$work/www/doc.json"
chmod -R a+rX "$work" # nginx workers may run as another user

# One nginx for the backend, another as the proxy, so each server's CPU
# time can be read on its own.
conf() { # name, server block
	cat >"$work/$1.conf" <<CONF
worker_processes 2;
daemon off;
pid $work/$1.pid;
error_log $work/$1.error.log;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $work/tmp; proxy_temp_path $work/tmp; fastcgi_temp_path $work/tmp;
	uwsgi_temp_path $work/tmp; scgi_temp_path $work/tmp;
	types { application/json json; }
	upstream backend { server 127.0.0.1:$backend_port; keepalive 32; }
	$2
}
CONF
}
conf backend "server { listen 127.0.0.1:$backend_port; root $work/www; }"
# proxy_server PORT LEVEL: an nginx server block compressing at LEVEL.
proxy_server() {
	echo "server {
		listen 127.0.0.1:$1;
		gzip on; gzip_comp_level $2; gzip_proxied any; gzip_types application/json; gzip_min_length 30;
		proxy_buffers 16 16k;
		location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection \"\"; }
	}"
}
conf proxy "$(proxy_server $proxy6_port 6) $(proxy_server $proxy1_port 1)"
nginx -p "$work" -c "$work/backend.conf" 2>"$work/nginx.stderr" &
pids+=($!)
nginx -p "$work" -c "$work/proxy.conf" 2>>"$work/nginx.stderr" &
pids+=($!)

cat >"$work/cfg/ingress.yaml" <<YAML
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: gw
  namespace: bench
  annotations: {gwc.io/compression: gzip}
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: backend, namespace: bench}
spec:
  hosts: [backend.bench.svc.cluster.local]
  ports: [{number: $backend_port, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: backend, namespace: bench}
spec:
  hosts: ["*"]
  gateways: [gw]
  http:
  - route: [{destination: {host: backend.bench.svc.cluster.local}}]
YAML
for level in 1 6; do
	cat >>"$work/cfg/ingress.yaml" <<YAML
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: level$level
  namespace: bench
  annotations: {gwc.io/compression: "gzip;level=$level"}
spec:
  hosts: [level$level.example]
  gateways: [gw]
  http:
  - route: [{destination: {host: backend.bench.svc.cluster.local}}]
YAML
done
go build -o "$work/gwc" ./cmd/gwc
go build -o "$work/loadgen" ./bench/loadgen
"$work/gwc" build -o "$work/ingress" "$work/cfg" >/dev/null
"$work/ingress" --listen 80=127.0.0.1:$gwc_port --status-addr 127.0.0.1:0 --admin-addr "" 2>"$work/ingress.log" &
pids+=($!)
sleep 1
for p in "${pids[@]}"; do
	kill -0 "$p" 2>/dev/null || { cat "$work/nginx.stderr" "$work"/*.error.log >&2; exit 1; }
done

# cpu_ticks PID: user+system clock ticks of PID and its children.
cpu_ticks() {
	local t=0 p
	for p in "$1" $(pgrep -P "$1" || true); do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
	done
	echo "$t"
}

# run NAME URL HOST ENCODING SERVER_PID: load, then the server's CPU per request.
run() {
	local before after out n
	before=$(cpu_ticks "$5")
	out=$("$work/loadgen" -url "$2" -host "$3" -accept-encoding "$4" -c "$conns" -d "${secs}s")
	after=$(cpu_ticks "$5")
	n=${out%% requests*}
	printf '%-28s %s; server CPU %s µs/request\n' "$1" "$out" \
		"$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$n" 'BEGIN { printf "%.0f", t / hz * 1e6 / (n > 0 ? n : 1) }')"
}
nginx_proxy=${pids[1]}
gwc_pid=${pids[2]}
run "nginx proxy, identity" http://127.0.0.1:$proxy6_port/doc.json bench identity "$nginx_proxy"
run "gwc, identity" http://127.0.0.1:$gwc_port/doc.json bench identity "$gwc_pid"
run "nginx proxy, gzip (zlib 1)" http://127.0.0.1:$proxy1_port/doc.json bench gzip "$nginx_proxy"
run "gwc, gzip (klauspost 1)" http://127.0.0.1:$gwc_port/doc.json level1.example gzip "$gwc_pid"
run "nginx proxy, gzip (zlib 6)" http://127.0.0.1:$proxy6_port/doc.json bench gzip "$nginx_proxy"
run "gwc, gzip (klauspost 6)" http://127.0.0.1:$gwc_port/doc.json level6.example gzip "$gwc_pid"
run "gwc, gzip (klauspost 5)" http://127.0.0.1:$gwc_port/doc.json bench gzip "$gwc_pid"
