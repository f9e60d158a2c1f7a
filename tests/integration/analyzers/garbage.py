#!/usr/bin/env python3
# Test analyzer that writes junk: binary bytes, an over-long line, lines
# that are not line protocol, an alert without a valid severity; then, for
# the first window only, one good point (an_garbage_ok). Reads all input.
import sys
w = sys.stdout.buffer
first = True
for line in sys.stdin.buffer:
    if line.startswith(b"# end") and first:
        first = False
        w.write(b"\x00\x01\x02binary\xff\xfe junk\n")
        w.write(b"x" * 100000 + b"\n")
        w.write(b"not line protocol at all\n")
        w.write(b"m,tag=1 f=\n")
        w.write(b"alert,rule=r,field=f,severity=huge message=\"bad\"\n")
        w.write(b"an_garbage_ok v=1i\n")
        w.flush()
