#!/usr/bin/env bash
# make bench: the side-by-side benchmarks of docs/benchmarks.md. Installs
# nginx, HAProxy, Caddy and wrk from Debian's packages when missing, builds
# gwc, the fixed backend and the driver, then
#   1. drives the ingress, nginx, HAProxy, Caddy and the backend directly
#      with the same wrk load, alternating targets within each round, and
#      prints one table (bench/driver run), then the single scenario again
#      over one connection;
#   2. measures start and size: gwc build phases and peak memory for 1, 1,000
#      and 10,000 VirtualServices, binary size, cold start to the first
#      proxied 200 and idle RSS (bench/driver startsize).
# Every load is on 127.0.0.1 and bounded in time. Flags for step 1 go in
# BENCH_FLAGS, e.g. BENCH_FLAGS='-rounds 5 -duration 10s -scenarios single'.
# BENCH_STEPS picks the steps: "run startsize" (default), "run", "startsize".
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for cmd in nginx haproxy caddy wrk taskset; do
	command -v "$cmd" >/dev/null || missing+=("$cmd")
done
if ((${#missing[@]})); then
	echo "bench: installing nginx haproxy caddy wrk (missing: ${missing[*]})" >&2
	if [ "$(id -u)" -ne 0 ]; then
		echo "bench: run as root, or install the packages nginx haproxy caddy wrk util-linux first" >&2
		exit 1
	fi
	apt-get update -qq
	# Debian's packages only start services under systemd; here nothing
	# is started, the driver runs each proxy itself.
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx haproxy caddy wrk util-linux >/dev/null
fi

go=${GO:-go}
mkdir -p bench/out bin
$go build -o bin/gwc ./cmd/gwc
$go build -o bench/out/backend ./bench/backend
$go build -o bench/out/driver ./bench/driver

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/{printf "%d", $2/1048576}' /proc/meminfo) GiB, kernel $(uname -r)"
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "versions: $($go version | cut -d' ' -f3-4), gwc $(git describe --always --dirty 2>/dev/null || echo unknown)," \
	"$(nginx -v 2>&1 | cut -d' ' -f3), HAProxy $(haproxy -v | head -1 | cut -d' ' -f3), Caddy $(caddy version | cut -d' ' -f1), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"

steps=${BENCH_STEPS:-run startsize}
for step in $steps; do
	case $step in
	run)
		# shellcheck disable=SC2086
		bench/out/driver run ${BENCH_FLAGS:-}
		echo
		echo "one connection (latency without queueing):"
		# shellcheck disable=SC2086
		bench/out/driver run -scenarios single -conns 1 ${BENCH_FLAGS_1:-}
		;;
	startsize)
		echo
		bench/out/driver startsize
		;;
	*)
		echo "bench: unknown step $step" >&2
		exit 2
		;;
	esac
done
