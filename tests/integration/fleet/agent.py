# A threaded agent for the fleet tests: THREADS threads each connect to
# 127.0.0.1:PORT ATTEMPTS times (closing at once, PAUSE seconds between
# tries) and the process prints "OK REFUSED OTHER" when done.
import sys, threading, time
from tries import attempt

port, attempts, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
pause = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
counts = {"ok": 0, "refused": 0, "other": 0}
lock = threading.Lock()


def work():
    for _ in range(attempts):
        what = attempt(port)
        with lock:
            counts[what] += 1
        if pause:
            time.sleep(pause)


ts = [threading.Thread(target=work) for _ in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(counts["ok"], counts["refused"], counts["other"], flush=True)
