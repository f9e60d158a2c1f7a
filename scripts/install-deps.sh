#!/usr/bin/env bash
# install-deps.sh — installs every Debian package that building, testing and
# the demo need. Idempotent: does nothing when everything is present.
set -euo pipefail

PKGS=(
	gcc make pkg-config
	librdkafka-dev liblmdb-dev libcurl4-openssl-dev libmaxminddb-dev
	libiniparser-dev libcmocka-dev zlib1g-dev
	influxdb kcat curl python3 lmdb-utils
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
	SUDO=()
elif command -v sudo >/dev/null 2>&1; then
	SUDO=(sudo)
else
	echo "install-deps: need root to install packages: run 'sudo $0' (or as root)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q >/dev/null
# policy-rc.d keeps the influxdb package from starting a system-wide server:
# ringflow's tests and demo run their own private influxd.
if [ ! -e /usr/sbin/policy-rc.d ] && [ "$(id -u)" -eq 0 ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
