#!/usr/bin/env python3
"""A local HTTP receiver for the webhook tests: every POST is written to DIR as NNNNNN.json
({"path", "headers" (lower-case names), "body"}) before it is answered. Prints "READY <port>".

    webhook_receiver.py DIR [--fail-first N] [--status CODE] [--reply JSON]

--fail-first N   answer the first N requests 500
--status CODE    answer every request with CODE (after --fail-first)
--reply JSON     answer with this JSON body (status 200 unless --status): a group robot's reply
"""
import argparse
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--status", type=int)
    parser.add_argument("--reply")
    args = parser.parse_args()
    os.makedirs(args.directory, exist_ok=True)
    lock = threading.Lock()
    state = {"count": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8")
            with lock:
                state["count"] += 1
                number = state["count"]
            status = 500 if number <= args.fail_first else (args.status or (200 if args.reply else 204))
            base = os.path.join(args.directory, "%06d" % number)
            with open(base + ".part", "w") as out:
                json.dump({"path": self.path, "status": status,
                           "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}, out)
            os.rename(base + ".part", base + ".json")
            answer = (args.reply or "").encode("utf-8") if status < 300 else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *arguments):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print("READY %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
