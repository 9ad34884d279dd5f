#!/usr/bin/env python3
"""An example agent with no knowledge of Enact.

It starts a small HTTP API on loopback (in a thread of its own), then:
  1. asks that API six questions in a row (urllib.request),
  2. keeps retrying a billing service that is down,
  3. deletes its scratch folder with `rm -rf` (subprocess).

Run plainly, every call goes through. Run under `enact run` with the
enact.ini next to this file, calls beyond the API's burst fail with
PermissionError (rate_limited), the billing service is cut off by its
circuit breaker after three failures (circuit_open), and the rm is only
simulated: it "succeeds" and the folder is still there. All of it is in
audit.jsonl next to enact.ini. Finishes in a second or two."""
import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request


def free_port(first, count=10):
    """The first port of first..first+count-1 nobody listens on (bind is
    not governed: only connects and program starts are). SO_REUSEADDR, as
    the HTTP server sets it: a port whose last connections still linger
    (TIME_WAIT, after a run a moment ago) is free to listen on."""
    for port in range(first, first + count):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise SystemExit(f"agent: ports {first}-{first + count - 1} are all taken")


class SearchAPI(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"query": self.path, "results": 3}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=3) as reply:
            return f"HTTP {reply.status} {reply.read().decode()}"
    except urllib.error.URLError as e:
        return f"failed: {e.reason}"


def main():
    api_port = free_port(18110)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", api_port), SearchAPI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    billing_port = free_port(18120)  # left closed: the service is down

    print(f"agent: 1. asking the search API 6 questions (127.0.0.1:{api_port})")
    for i in range(1, 7):
        print(f"  question {i}: {get(f'http://127.0.0.1:{api_port}/search?q={i}')}")

    print(f"agent: 2. retrying the billing service 5 times (127.0.0.1:{billing_port})")
    for i in range(1, 6):
        print(f"  try {i}: {get(f'http://127.0.0.1:{billing_port}/invoice')}")

    scratch = tempfile.mkdtemp(prefix="python-agent-")
    for name in ("notes.txt", "draft.md"):
        open(os.path.join(scratch, name), "w").close()
    print(f"agent: 3. deleting its scratch folder: rm -rf {scratch}")
    done = subprocess.run(["rm", "-rf", scratch])
    print(f"  rm exit status {done.returncode}; the folder is "
          f"{'still there' if os.path.exists(scratch) else 'gone'}")

    server.shutdown()
    # Tidy up without a program start (Enact sees connects and program
    # starts only), so the example leaves nothing behind.
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
