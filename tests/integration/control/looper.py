# A runaway agent: HTTP calls and subprocesses in a loop until killed or
# for argv[3] seconds. Each call is one line in argv[2]: "TIME KIND ok|err"
# (TIME from time.time(), so that the test can compare with its own clock).
import http.client, subprocess, sys, time

port, log, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
end = time.time() + seconds
with open(log, "a", buffering=1) as out:
    while time.time() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/")
            c.getresponse().read()
            c.close()
            out.write(f"{time.time():.3f} http ok\n")
        except OSError:
            out.write(f"{time.time():.3f} http err\n")
        try:
            subprocess.run(["/bin/echo", "step"], stdout=subprocess.DEVNULL, check=True)
            out.write(f"{time.time():.3f} exec ok\n")
        except (OSError, subprocess.CalledProcessError):
            out.write(f"{time.time():.3f} exec err\n")
        time.sleep(0.02)
