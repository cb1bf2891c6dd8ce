#!/usr/bin/env python3
"""A local HTTP server that records every request as one JSON line.

Stands in for webhook receivers and for Slack (which cannot be reached from
the test machines). Used by the integration tests:

    http_recorder.py --port-file P --out F [--responses 429:2,500,200]

--responses scripts the answers to successive requests: "429:2" answers 429
with "Retry-After: 2", "500" answers 500; once the script is used up every
request gets 200. Binds 127.0.0.1 only.
"""
import argparse
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--port-file", required=True)
parser.add_argument("--out", required=True)
parser.add_argument("--responses", default="")
parser.add_argument("--port", type=int, default=0, help="listen on this port (0 = any free one)")
args = parser.parse_args()

# Children of `swift test` inherit a mask that blocks SIGTERM: unblock it so
# the harness can stop this server politely.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

script = [item for item in args.responses.split(",") if item]
lock = threading.Lock()
out = open(args.out, "a", encoding="utf-8")


class Recorder(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        with lock:
            answer = script.pop(0) if script else "200"
            out.write(json.dumps({
                "time": time.time(), "method": "POST", "path": self.path,
                "headers": {k: v for k, v in self.headers.items()}, "body": body, "answer": answer,
            }) + "\n")
            out.flush()
        status, _, retry_after = answer.partition(":")
        self.send_response(int(status))
        if retry_after:
            self.send_header("Retry-After", retry_after)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok" if status == "200" else b"scripted failure")

    do_PUT = do_POST

    def log_message(self, *_):
        pass


ThreadingHTTPServer.allow_reuse_address = True
server = ThreadingHTTPServer(("127.0.0.1", args.port), Recorder)
with open(args.port_file, "w") as f:
    f.write(str(server.server_address[1]))
sys.stdout.write("listening on %d\n" % server.server_address[1])
sys.stdout.flush()
server.serve_forever()
