#!/bin/sh
# Installs the Debian packages that building, running and testing ciip need.
# Idempotent: when everything is present it prints nothing and exits 0.
set -eu

PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev
libsqlite3-dev sqlite3 libmicrohttpd-dev libjansson-dev libyaml-dev
libcurl4-openssl-dev libssl-dev libsodium-dev libmaxminddb-dev
libvectorscan-dev libcmocka-dev zlib1g-dev
python3 python3-pytest wrk curl ca-certificates"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps.sh: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
