#!/bin/sh
# bench/match: the compiled matcher's lookups per second at several
# indicator counts, best of RUNS rounds on each core.
#
#   [PASSES=N] bench/match/run.sh [EVENTS] [RUNS] [INDICATORS...]
#
# build/bench/bench_match runs once on each core (taskset), matching RUNS
# rounds of EVENTS events after one build (-r), and all that PASSES times
# (default 1); the figure kept is the lowest time per lookup over every
# core, pass and round, because on a shared virtual machine one core, or
# both, can be much slower for minutes at a time (other tenants). Prints one
# line per indicator count and hit mix: indicators, mix, ns per lookup,
# lookups per second, build seconds, matcher MB, peak RSS MB.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${BENCH_MATCH:-$top/build/bench/bench_match}
events=${1:-10000000}
runs=${2:-3}
shift 2 2>/dev/null || shift $#
counts=${*:-10000 100000 1000000}
cores=$(nproc)
passes=${PASSES:-1}
for n in $counts; do
	for mix in default miss; do
		flag=""
		[ "$mix" = miss ] && flag="-h 0"
		best=""
		p=0
		while [ "$p" -lt "$passes" ]; do
			c=0
			while [ "$c" -lt "$cores" ]; do
				# shellcheck disable=SC2086
				out=$(taskset -c "$c" "$bin" -i "$n" -e "$events" -r "$runs" $flag)
				ns=$(echo "$out" | awk '/^ns_per_lookup/{print $2}')
				if [ -z "$best" ] || awk "BEGIN{exit !($ns < $best)}"; then
					best=$ns
					bout=$out
				fi
				c=$((c + 1))
			done
			p=$((p + 1))
		done
		echo "$bout" | awk -v n="$n" -v mix="$mix" '
			/^build_s/ {b=$2} /^matcher_mb/ {mb=$2} /^rss_peak_mb/ {rss=$2}
			/^hits/ {hits=$3; gsub(/[(]/, "", hits)} /^ns_per_lookup/ {ns=$2}
			END {printf "%d %s hits %s ns %.1f lookups/s %.0f build_s %s matcher_mb %s rss_mb %s\n",
			     n, mix, hits, ns, 1e9/ns, b, mb, rss}'
	done
done
