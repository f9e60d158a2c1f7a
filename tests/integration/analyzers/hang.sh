#!/bin/sh
# Test analyzer that never reads its input.
exec sleep 1000
