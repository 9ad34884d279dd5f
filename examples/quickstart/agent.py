#!/usr/bin/env python3
"""A toy agent: it calls an HTTP API in a loop, keeps retrying a service
that is down, and cleans up files with rm.

Nothing in it knows about Enact. Run under `enact run`, calls beyond the
configured limits fail the way a refused connect fails, a service that keeps
failing is cut off by its circuit breaker, and the rm is only simulated;
every one of these is recorded in the audit log."""
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request

API = os.environ.get("DEMO_API_URL", "http://127.0.0.1:18080/")
FLAKY = os.environ.get("DEMO_FLAKY_URL", "http://127.0.0.1:18090/")


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return f"HTTP {reply.status}"
    except urllib.error.URLError as e:
        return f"failed: {e.reason}"


def call_api(times):
    print(f"agent: calling the API {times} times ({API})")
    for i in range(1, times + 1):
        print(f"  call {i}: {get(API)}")


def retry_flaky(times):
    print(f"agent: retrying a service that is down, {times} times ({FLAKY})")
    for i in range(1, times + 1):
        print(f"  try {i}: {get(FLAKY)}")


def clean_up(files):
    work = tempfile.mkdtemp(prefix="agent-")
    print(f"agent: deleting {files} scratch files with rm -rf")
    for i in range(1, files + 1):
        path = os.path.join(work, f"scratch{i}")
        open(path, "w").close()
        done = subprocess.run(["rm", "-rf", path])
        print(f"  rm scratch{i}: exit status {done.returncode}; "
              f"the file is {'still there' if os.path.exists(path) else 'gone'}")
    shutil.rmtree(work)  # not a program start: Enact does not see it


if __name__ == "__main__":
    call_api(6)
    retry_flaky(5)
    clean_up(2)
