#!/usr/bin/env python3
"""A webhook receiver for pgmanage's tests (Python 3 standard library only).

Listens on 127.0.0.1, verifies each request's Standard Webhooks signature
independently of pgmanage (HMAC-SHA256 of "id.timestamp.body" with the
base64-decoded key of a whsec_ secret), and appends one JSON line per
request to --log: arrival time, headers (lower-cased names), body, whether
the signature verified, and the status it answered.

What it answers is read from --plan (a JSON list, re-read on every request):
each request takes (and removes) the first entry; with none left, it gets 200.
An entry is {"status": 500} with optional "retry_after" (header value),
"delay" (seconds to wait before answering), "headers" (an object), "body" or
"body_b64" (bytes, base64) and "body_repeat" (the body that many times).
With --replies R, one JSON line per answer says whether it was sent whole.

    webhook_receiver.py --port-file F --log L --secret whsec_... [--plan P]
                        [--port N] [--tls-cert C --tls-key K]
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()


def verify(secret, headers, body):
    """True if one of the v1 signatures matches and the timestamp is fresh."""
    msg_id = headers.get("webhook-id")
    ts = headers.get("webhook-timestamp")
    sigs = headers.get("webhook-signature")
    if not (msg_id and ts and sigs):
        return False
    try:
        if abs(time.time() - int(ts)) > 300:
            return False
    except ValueError:
        return False
    key = secret[len("whsec_"):] if secret.startswith("whsec_") else secret
    key = base64.b64decode(key)
    signed = msg_id.encode() + b"." + ts.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for sig in sigs.split(" "):
        version, _, value = sig.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


def next_answer():
    """Pop the first entry of the plan file (rewritten without it), or 200."""
    with LOCK:
        plan = []
        if ARGS.plan and os.path.exists(ARGS.plan):
            with open(ARGS.plan) as f:
                text = f.read().strip()
                plan = json.loads(text) if text else []
        if not plan:
            return {"status": 200}
        tmp = ARGS.plan + ".rx"
        with open(tmp, "w") as f:
            f.write(json.dumps(plan[1:]))
        os.rename(tmp, ARGS.plan)
        return plan[0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        answer = next_answer()
        status = int(answer.get("status", 200))
        entry = {
            "t": time.time(),
            "path": self.path,
            "headers": headers,
            "body": body.decode("utf-8", "replace"),
            "verified": verify(ARGS.secret, headers, body),
            "status": status,
        }
        with LOCK:
            with open(ARGS.log, "a") as f:
                f.write(json.dumps(entry) + "\n")
        if answer.get("delay"):
            time.sleep(float(answer["delay"]))
        if "body_b64" in answer:
            reply = base64.b64decode(answer["body_b64"])
        else:
            reply = answer.get("body", "ok").encode()
        reply *= int(answer.get("body_repeat", 1))
        try:
            self.send_response(status)
            if "retry_after" in answer:
                self.send_header("Retry-After", str(answer["retry_after"]))
            for name, value in answer.get("headers", {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)
            self.wfile.flush()
            complete = True
        except (BrokenPipeError, ConnectionResetError):
            complete = False
        if ARGS.replies:
            with LOCK:
                with open(ARGS.replies, "a") as f:
                    f.write(json.dumps({"path": self.path, "bytes": len(reply), "complete": complete}) + "\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--plan")
    p.add_argument("--replies")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    ARGS = p.parse_args()
    server = Server(("127.0.0.1", ARGS.port), Handler)
    if ARGS.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, ARGS.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
