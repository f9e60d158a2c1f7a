#!/bin/sh
# Test analyzer that exits at once.
echo "quitting" >&2
exit 3
