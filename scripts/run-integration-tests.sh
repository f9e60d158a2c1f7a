#!/usr/bin/env bash
# run-integration-tests.sh — runs tests/integration/*.sh with the real
# binaries from $BIN; each test prints its own result and exits non-zero on
# failure.
set -u
cd "$(dirname "$0")/.."
export BIN=${BIN:-$PWD/build/bin}
fail=0; n=0
# Logs of this run only (several runs may share the machine); kept for a
# failed test, removed when everything passed.
logs=$(mktemp -d /tmp/rf-it-logs-XXXXXX)
for t in tests/integration/test_*.sh; do
	[ -f "$t" ] || continue
	n=$((n + 1))
	start=$(date +%s)
	log=$logs/$(basename "$t").log
	if bash "$t" > "$log" 2>&1; then
		echo "PASS $(basename "$t") ($(( $(date +%s) - start ))s)"
	else
		echo "FAIL $(basename "$t") ($(( $(date +%s) - start ))s)"
		tail -60 "$log"
		echo "(whole log: $log)"
		fail=$((fail + 1))
	fi
done
echo "integration tests: $((n - fail))/$n passed"
[ $fail -eq 0 ] && rm -rf "$logs"
[ $fail -eq 0 ]
