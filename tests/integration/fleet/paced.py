# A paced agent for the outage tests: connects to 127.0.0.1:PORT every
# PAUSE seconds until the file STOP exists, and prints one line per try:
# "WALL_TIME SECONDS_THE_CONNECT_TOOK ok|refused|other".
import os, sys, time
from tries import attempt

port, pause, stop = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
while not os.path.exists(stop):
    t0 = time.monotonic()
    what = attempt(port)
    took = time.monotonic() - t0
    print(f"{time.time():.6f} {took:.6f} {what}", flush=True)
    time.sleep(pause)
