#!/usr/bin/env python3
"""Issue 8, B4 baseline: a token bucket in Redis Lua, the usual way a limiter
is shared between processes.

Starts its own redis-server on a free loopback port (no RDB, no AOF), loads
a GCRA token-bucket script (KEYS[1]; ARGV interval_us, burst, now_us — now 0
means the server's TIME), and measures EVALSHA decisions per second with
redis-benchmark (no pipelining: one round trip per decision, as a limiter
is called). The rate is so high that every call admits and writes (SET), as
the gate's benchmark commits every decision.

Besides requests per second (rps), it reads the server's CPU time from
/proc, so that decisions per server CPU second (the cost on the one core a
Redis server uses) can be compared with the gate's decisions per CPU second.
The client's CPU (redis-benchmark) is reported apart and NOT charged to
Redis: the comparison is generous to Redis.

    python3 bench/redis_lua.py [--clients 1,8] [--requests N] [--keys shared|distinct|both]

Prints one key=value line per measurement. Without redis-benchmark it falls
back to a small pipelined-free Python client over raw RESP (and says so in
the line: client=python).
"""
import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

LUA = r"""
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if not now or now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local tolerance = (burst - 1) * interval
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
if tat - now > tolerance then
  return {0, math.ceil(tat - now - tolerance)}
end
local new = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', new), 'PX', math.ceil((new - now) / 1000) + 1)
return {1, 0}
"""

# one token a microsecond, a burst of 1e9: never refuses at these speeds
INTERVAL_US = "1"
BURST = "1000000000"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Resp:
    """A minimal RESP client (for setup and for the fallback)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.sock.makefile("rb")

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self.read()

    def read(self):
        line = self.f.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data.decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)


def cpu_of(pid):
    """CPU time of a process (all its threads), in seconds: nanoseconds from
    /proc/PID/task/*/schedstat, else clock ticks from /proc/PID/stat."""
    try:
        total = 0
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        pass
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(tmp):
    exe = shutil.which("redis-server")
    if not exe:
        sys.exit("redis_lua: redis-server not found (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", tmp, "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            c = Resp(port)
            if c.call("PING") == "PONG":
                return proc, port, c
        except OSError:
            time.sleep(0.02)
    proc.kill()
    sys.exit("redis_lua: redis-server did not start")


def bench_redis_benchmark(port, sha, clients, requests, distinct):
    key = "bucket:__rand_int__" if distinct else "bucket"
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-n", str(requests),
           "-c", str(clients), "-P", "1", "--csv"]
    if distinct:
        cmd += ["-r", "1000000"]
    cmd += ["EVALSHA", sha, "1", key, INTERVAL_US, BURST, "0"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rows = [l for l in out.splitlines() if l.startswith('"') and not l.startswith('"test"')]
    if not rows:
        raise RuntimeError("no result from redis-benchmark: %r" % out)
    return float(rows[-1].split('","')[1].strip('"'))


def bench_python(port, sha, clients, requests, distinct):
    """Fallback: `clients` forked processes, each a blocking RESP client."""
    per = max(1, requests // clients)
    r, w = os.pipe()
    kids = []
    t0 = time.monotonic()
    for i in range(clients):
        pid = os.fork()
        if pid == 0:
            os.close(r)
            c = Resp(port)
            for k in range(per):
                key = "bucket:%d:%d" % (i, k % 1000) if distinct else "bucket"
                c.call("EVALSHA", sha, 1, key, INTERVAL_US, BURST, 0)
            os._exit(0)
        kids.append(pid)
    os.close(w)
    for pid in kids:
        os.waitpid(pid, 0)
    os.close(r)
    return per * clients / (time.monotonic() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", default="1,8")
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--keys", default="shared", choices=["shared", "distinct", "both"])
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()

    use_rb = shutil.which("redis-benchmark") is not None
    runner = bench_redis_benchmark if use_rb else bench_python
    if not use_rb:
        print("# redis-benchmark not found: falling back to a Python RESP client", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="enact-redis-") as tmp:
        proc, port, c = start_server(tmp)
        try:
            sha = c.call("SCRIPT", "LOAD", LUA)
            # sanity: the script admits at this rate, and refuses a small bucket
            assert c.call("EVALSHA", sha, 1, "check", INTERVAL_US, BURST, 0)[0] == 1
            got = [c.call("EVALSHA", sha, 1, "small", 60000000, 2, 0)[0] for _ in range(3)]
            assert got == [1, 1, 0], got
            c.call("DEL", "check", "small")
            version = c.call("INFO", "server").split("redis_version:")[1].split()[0]
            kinds = ["shared", "distinct"] if args.keys == "both" else [args.keys]
            for _ in range(args.repeat):
                for keys in kinds:
                    for clients in [int(x) for x in args.clients.split(",")]:
                        s0 = cpu_of(proc.pid)
                        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                        t0 = time.monotonic()
                        rps = runner(port, sha, clients, args.requests, keys == "distinct")
                        wall = time.monotonic() - t0
                        s1 = cpu_of(proc.pid)
                        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                        scpu = s1 - s0
                        ccpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
                        per_cpu = args.requests / scpu if scpu > 0 else float("nan")
                        print("mode=redis_lua client=%s redis=%s clients=%d keys=%s requests=%d "
                              "rps=%.0f wall_s=%.3f server_cpu_s=%.3f dps_per_server_cpu_s=%.0f "
                              "client_cpu_s=%.3f ncpu=%d"
                              % ("redis-benchmark" if use_rb else "python", version, clients,
                                 keys, args.requests, rps, wall, scpu, per_cpu, ccpu,
                                 os.cpu_count()), flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
