#!/usr/bin/env bash
# Profiles the ingress under load: builds the scenario's ingress with gwc
# build --emit-source, adds bench/pprof.go.txt to a copy of the generated
# module (net/http/pprof on 127.0.0.1), builds it, drives it with wrk on
# 127.0.0.1 and saves CPU and allocation profiles with their top lists in
# bench/out/profile/SCENARIO/. Run bench/run.sh once first (it installs wrk
# and builds the tools). Usage: bench/profile.sh [SCENARIO [SECONDS]]
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-single}
secs=${2:-10}
go=${GO:-go}
out=bench/out/profile/$scenario
rm -rf "$out"
mkdir -p "$out"
$go build -o bin/gwc ./cmd/gwc
$go build -o bench/out/backend ./bench/backend
$go build -o bench/out/driver ./bench/driver
bench/out/driver gen bench/out/profile/configs
cfg=bench/out/profile/configs/$scenario

bin/gwc build -o "$out/ingress" --emit-source "$out/src" "$cfg/istio" >/dev/null 2>&1
cp bench/pprof.go.txt "$out/src/pprof_bench.go"
(cd "$out/src" && CGO_ENABLED=0 GOFLAGS= GOPROXY=off $go build -trimpath -o ../ingress-pprof .)

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
GOMAXPROCS=1 taskset -c 0 bench/out/backend -addr 127.0.0.1:19000 2>"$out/backend.log" &
pids+=($!)
# The https scenario listens on the Gateway's port 443 with the throwaway
# certificate driver gen wrote under $cfg/creds.
listen=80 scheme=http
[ "$scenario" = https ] && listen=443 scheme=https
GOMAXPROCS=1 GWC_PPROF_ADDR=127.0.0.1:19060 taskset -c 1 "$out/ingress-pprof" --listen $listen=127.0.0.1:19080 \
	--credentials-dir "$cfg/creds" --status-addr 127.0.0.1:19021 --admin-addr 127.0.0.1:19015 2>"$out/ingress.log" &
pids+=($!)
for _ in $(seq 100); do curl -fs -o /dev/null http://127.0.0.1:19021/healthz/ready && break; sleep 0.1; done

close=()
[ "$scenario" = close ] && close=(close)
taskset -c 0 wrk -t1 -c64 -d$((secs + 4))s -s bench/wrk.lua $scheme://127.0.0.1:19080/ -- "$cfg/requests.txt" "${close[@]}" >"$out/wrk.txt" &
wrkpid=$!
sleep 2
curl -fs -o "$out/cpu.pprof" "http://127.0.0.1:19060/debug/pprof/profile?seconds=$secs"
curl -fs -o "$out/allocs.pprof" "http://127.0.0.1:19060/debug/pprof/allocs"
wait "$wrkpid"
$go tool pprof -top -nodecount=35 "$out/ingress-pprof" "$out/cpu.pprof" >"$out/cpu-top.txt" 2>/dev/null
$go tool pprof -top -cum -nodecount=45 "$out/ingress-pprof" "$out/cpu.pprof" >"$out/cpu-cum.txt" 2>/dev/null
$go tool pprof -top -sample_index=alloc_space -nodecount=25 "$out/ingress-pprof" "$out/allocs.pprof" >"$out/alloc-top.txt" 2>/dev/null
grep RESULT "$out/wrk.txt"
echo "profiles in $out: cpu-top.txt cpu-cum.txt alloc-top.txt (go tool pprof $out/ingress-pprof $out/cpu.pprof)"
