#!/usr/bin/env python3
"""A toy agent: it calls an HTTP API in a loop and cleans up files with rm.

Nothing in it knows about Enact. Run under `enact run`, the calls beyond
the configured limits fail the way a refused connect or exec fails, and
every refusal is recorded in the audit log."""
import os
import subprocess
import tempfile
import urllib.error
import urllib.request

API = os.environ.get("DEMO_API_URL", "http://127.0.0.1:18080/")


def call_api(times):
    print(f"agent: calling the API {times} times ({API})")
    for i in range(1, times + 1):
        try:
            with urllib.request.urlopen(API, timeout=5) as reply:
                print(f"  call {i}: HTTP {reply.status}")
        except urllib.error.URLError as e:
            print(f"  call {i}: failed: {e.reason}")


def clean_up(files):
    work = tempfile.mkdtemp(prefix="agent-")
    print(f"agent: deleting {files} scratch files with rm")
    for i in range(1, files + 1):
        path = os.path.join(work, f"scratch{i}")
        open(path, "w").close()
        try:
            subprocess.run(["rm", "-f", path], check=True)
            print(f"  rm scratch{i}: removed")
        except PermissionError as e:
            print(f"  rm scratch{i}: failed: {e.strerror}")


if __name__ == "__main__":
    call_api(8)
    clean_up(4)
