#!/usr/bin/env bash
# run-unit-tests.sh DIR — runs every cmocka test binary in DIR; fails if any fails.
set -u
dir=$1
fail=0; n=0
for t in "$dir"/test_*; do
	[ -x "$t" ] || continue
	n=$((n + 1))
	if out=$("$t" 2>&1); then
		echo "PASS $(basename "$t")"
	else
		echo "FAIL $(basename "$t")"
		echo "$out" | tail -40
		fail=$((fail + 1))
	fi
done
echo "unit tests: $((n - fail))/$n passed"
[ $fail -eq 0 ]
