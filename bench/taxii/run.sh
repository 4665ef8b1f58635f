#!/bin/sh
# bench/taxii: TAXII 2.1 reads with keep-alive on loopback, measured with
# wrk: a page of objects (GET .../objects/?limit=100) and one object by id
# (GET .../objects/{id}/), on a collection of N indicators; the page is
# read both from the start and from the middle of the collection
# (added_after the middle object), to show that depth costs nothing.
#
#   bench/taxii/run.sh [N] [SECONDS] [CONNECTIONS]
#
# It fills a fresh data directory with build/bench/bench_taxii_fill (N
# indicators, TLP:GREEN, through the same service as a TAXII POST), starts
# ciipd on it, runs wrk on each endpoint and prints requests per second and
# the 99th percentile latency. Set DATA=DIR to keep (or reuse) the filled
# directory: filling 1,000,000 indicators takes a couple of minutes.
# wrk and the daemon share this machine's cores, so the figures are floors
# for a dedicated server.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-10000}
secs=${2:-10}
conns=${3:-32}
build=${BUILD:-$top/build}
ciipd=${CIIPD:-$build/ciipd}
fill=${FILL:-$build/bench/bench_taxii_fill}
keep=${DATA:-}
data=${DATA:-$(mktemp -d)}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -z "$keep" ] && rm -rf "$data"
	return 0
}
trap cleanup EXIT
if [ ! -f "$data/bench-object-id" ]; then
	"$fill" "$data" "$n"
fi
token=$(cat "$data/bench-token")
object=$(cat "$data/bench-object-id")
"$ciipd" --data "$data" --listen "127.0.0.1:$port" --log-level warn &
pid=$!
# At start the detection matcher compiles every indicator (about a minute
# for a million): wait for it.
for _ in $(seq 600); do
	curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
	sleep 0.5
done
base="http://127.0.0.1:$port/taxii2/ciip/collections/bench"
count=$(sqlite3 "$data/ciip.db" "SELECT COUNT(*) FROM taxii_objects o JOIN taxii_collections c ON c.id = o.collection_id WHERE c.alias = 'bench'" 2>/dev/null || echo "$n+")
echo "ciipd $("$ciipd" --version | cut -d' ' -f2), $(nproc) cores, $count objects in the collection, wrk -t2 -c$conns -d${secs}s"
run() {
	label=$1
	url=$2
	out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency \
		-H "Authorization: Bearer $token" -H "Accept: application/taxii+json;version=2.1" "$url")
	rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
	p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
	p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
	errors=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
	printf '%-28s %10s req/s  p50 %-9s p99 %-9s%s\n' "$label" "$rps" "$p50" "$p99" \
		"${errors:+  NON-2xx: $errors}"
}
# One request first, so that a broken setup shows as an error, not a figure.
curl -sf -H "Authorization: Bearer $token" "$base/objects/$object/" >/dev/null
mid=$(curl -sfg -H "Authorization: Bearer $token" "$base/manifest/?match[id]=$object" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["objects"][0]["date_added"])')
run "GET objects/?limit=100" "$base/objects/?limit=100"
run "  ... from the middle" "$base/objects/?limit=100&added_after=$mid"
run "GET objects/{id}/" "$base/objects/$object/"
