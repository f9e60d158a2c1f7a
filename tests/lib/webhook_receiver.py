#!/usr/bin/env python3
# webhook_receiver.py PORTFILE OUTFILE: a local HTTP receiver for alert
# webhooks in tests. Listens on 127.0.0.1 (a free port, written to PORTFILE
# once listening), appends each POST body as one line to OUTFILE (with the
# X-Token header value first, tab-separated) and answers 200.
import http.server, os, sys

portfile, outfile = sys.argv[1], sys.argv[2]
out = open(outfile, "a", buffering=1)

class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode()
        out.write(f"{self.headers.get('X-Token', '')}\t{body}\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
tmp = portfile + ".tmp"
with open(tmp, "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(tmp, portfile)
srv.serve_forever()
