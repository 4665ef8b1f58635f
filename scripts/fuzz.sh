#!/bin/sh
# Runs every libFuzzer target in BUILD for SECONDS each, from its seed
# corpus (tests/fuzz/corpus/<name>) and dictionary (tests/fuzz/<name>.dict)
# when present. New inputs go to a scratch directory so the tree stays clean.
set -eu
build=$1
seconds=$2
top=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0
for bin in "$build"/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	short=${name#fuzz_}
	mkdir -p "$scratch/$short"
	set -- -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
		-artifact_prefix="$scratch/$short-"
	[ -f "$top/tests/fuzz/$short.dict" ] && set -- "$@" -dict="$top/tests/fuzz/$short.dict"
	corpus="$top/tests/fuzz/corpus/$short"
	printf 'fuzz: %s for %ss\n' "$name" "$seconds"
	if [ -d "$corpus" ]; then
		"$bin" "$@" "$scratch/$short" "$corpus" >"$scratch/$short.log" 2>&1 || status=1
	else
		"$bin" "$@" "$scratch/$short" >"$scratch/$short.log" 2>&1 || status=1
	fi
	if [ $status -ne 0 ]; then
		tail -n 60 "$scratch/$short.log"
		ls "$scratch"/"$short"-* 2>/dev/null && for f in "$scratch"/"$short"-*; do
			echo "crash input ($f):"; od -c "$f" | head -20; done
		echo "fuzz: $name FAILED"
		exit 1
	fi
	grep -E '^#[0-9]+.*DONE' "$scratch/$short.log" | tail -n 1 || true
done
echo "fuzz: all targets survived"
