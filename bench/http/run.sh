#!/bin/sh
# bench/http: requests per second of GET /healthz with keep-alive on
# loopback, measured with wrk. Starts its own ciipd with a temporary data
# directory and stops it afterwards.
#
#   bench/http/run.sh [SECONDS] [CONNECTIONS] [PATH]
#
# wrk and the daemon share this machine's cores, so the figure is a floor
# for a dedicated server.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-10}
conns=${2:-64}
path=${3:-/healthz}
ciipd=${CIIPD:-$top/build/ciipd}
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$ciipd" --data "$data" --listen "127.0.0.1:$port" --log-level warn &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
	sleep 0.05
done
echo "ciipd $("$ciipd" --version | cut -d' ' -f2), $(nproc) cores, wrk -t2 -c$conns -d${secs}s $path"
wrk -t2 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port$path"
