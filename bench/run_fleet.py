#!/usr/bin/env python3
"""Enact fleet benchmarks: B7, limits on Redis (README "Running a fleet").

On a redis-server of its own on loopback, side by side in one run:

  B7 connect   connect+close to a loopback listener, the tool's bucket, quota
               and breaker checked and never denying:
               bare | shim, backend = local | shim, backend = redis
  B7 send      64-byte send+recv on a socketpair, tools none matching:
               bare | shim, local | shim, redis (no round trip at all)
  B7 decide    decisions per second of the gate over the Redis store, 1 and
               8 processes, against redis-benchmark running the same EVALSHA
               (same script, keys and arguments) with 1 and 8 clients

Round trips are counted by the server: each run of the limits script reads
TIME once, so INFO commandstats' TIME calls over a run, divided by its
operations, is the round trips per decision.

Usage: python3 bench/run_fleet.py [--quick] [--reps R] [--json OUT]
"""

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_gate as gate  # noqa: E402  (building over the core)
import run_micro as micro  # noqa: E402  (the shared harness: Variant, run_variant, summarise)

ROOT = os.path.dirname(HERE)
BIN = os.path.join(ROOT, "build", "bench", "fleet_bench")
SRC = os.path.join(HERE, "fleet_bench.c")
N = {"connect": (20000, 3000), "sendrecv": (500000, 100000)}


def die(msg):
    sys.exit("run_fleet: " + msg)


def build():
    gate.build(SRC, BIN)


def start_redis(tmp):
    for name in ("redis-server", "redis-cli", "redis-benchmark"):
        if not shutil.which(name):
            die("%s is not installed (make deps installs redis-server and redis-tools)" % name)
    port = micro.free_port()
    p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no", "--dir", tmp],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return p, port
        except OSError:
            time.sleep(0.05)
    p.kill()
    die("redis-server did not start")


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True,
                          text=True, check=True).stdout


def time_calls(port):
    m = re.search(r"^cmdstat_time:calls=(\d+)", cli(port, "info", "commandstats"), re.M)
    return int(m.group(1)) if m else 0


def write_configs(tmp, listen_port, redis_port):
    limits = ("rate.max_calls_per_minute = {b}\nrate.burst_size = {b}\n"
              "quota.max_actions = {b}\nquota.window_hours = 24\n"
              "breaker.failure_threshold = 1000000\n").format(b=micro.BIG)
    out = {}
    for backend in ("local", "redis"):
        head = ("[enact]\nagent = bench\nstate = {d}/{b}.state\naudit_log = {d}/{b}.jsonl\n"
                .format(d=tmp, b=backend))
        if backend == "redis":
            head += "backend = redis://127.0.0.1:%d\nbackend.key_prefix = b7\n" % redis_port
        for kind, tool in (("connect", "[tool.api]\nconnect = 127.0.0.1:%d\n" % listen_port),
                           ("unmapped", "[tool.elsewhere]\nconnect = 10.255.255.1:9\n")):
            path = os.path.join(tmp, "%s-%s.ini" % (kind, backend))
            with open(path, "w") as f:
                f.write(head + tool + limits)
            out[kind, backend] = path
    return out


def run_micro_group(bench, n, reps, listen_port, cfg, redis_port):
    argv = [micro.MICRO, bench, str(n)] + ([str(listen_port)] if bench == "connect" else [])
    kind = "connect" if bench == "connect" else "unmapped"
    vs = [micro.Variant("bare", argv),
          micro.Variant("local", argv, micro.shim_env(cfg[kind, "local"]),
                        note="backend = local"),
          micro.Variant("redis", argv, micro.shim_env(cfg[kind, "redis"]),
                        note="backend = redis, loopback")]
    trips = []
    for rep in range(reps):
        k = rep % len(vs)
        for v in vs[k:] + vs[:k]:
            before = time_calls(redis_port) if v.name == "redis" else 0
            micro.run_variant(v, timeout=300)
            if v.name == "redis":
                trips.append(time_calls(redis_port) - before)
    bare = statistics.median(vs[0].samples) if vs[0].samples else None
    res = {"variants": [micro.summarise(v, bare) for v in vs], "n": n}
    # micro warms up first with n/10 operations (1 to 1000) of its own.
    ops = n + min(max(n // 10, 1), 1000)
    res["round_trips_per_op"] = statistics.median(trips) / ops if trips else None
    return res


def server_us(port):
    """Server time per script run since the last reset (commandstats)."""
    stats = cli(port, "info", "commandstats")
    calls = usec = 0
    for m in re.finditer(r"^cmdstat_eval(?:sha)?:calls=(\d+),usec=(\d+)", stats, re.M):
        calls += int(m.group(1))
        usec += int(m.group(2))
    cli(port, "config", "resetstat")
    return usec / calls if calls else None


def decide(url, procs, seconds):
    r = subprocess.run([BIN, "decide", url, str(procs), str(seconds)], capture_output=True,
                       text=True)
    m = re.search(r"dps=(\d+).*refused=(\d+) unavailable=(\d+)", r.stdout)
    if not m:
        die("fleet_bench failed: %s%s" % (r.stdout, r.stderr))
    return int(m.group(1)), int(m.group(2)) + int(m.group(3))


def redis_benchmark(port, url, clients, n):
    args = subprocess.run([BIN, "script", url], capture_output=True, text=True,
                          check=True).stdout.split("\n")[:-1]
    r = subprocess.run(["redis-benchmark", "-p", str(port), "-n", str(n), "-c", str(clients),
                        "-q", *args], capture_output=True, text=True)
    m = re.findall(r"([\d.]+) requests per second", r.stdout)
    if not m:
        die("redis-benchmark failed: %s%s" % (r.stdout[-300:], r.stderr))
    return float(m[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()
    reps = args.reps or (2 if args.quick else 7)
    if not os.path.exists(micro.SHIM):
        die("%s is missing: run make first" % micro.SHIM)
    micro.build_micro()
    build()
    tmp = tempfile.mkdtemp(prefix="enact-fleet-bench-")
    server, port = start_redis(tmp)
    url = "redis://127.0.0.1:%d" % port
    results = {}
    try:
        listen_port = micro.free_port()
        cfg = write_configs(tmp, listen_port, port)
        for bench in ("connect", "sendrecv"):
            n = N[bench][1 if args.quick else 0]
            server_us(port)
            results[bench] = run_micro_group(bench, n, reps, listen_port, cfg, port)
            results[bench]["server_us"] = server_us(port)
        seconds = 0.5 if args.quick else 2.0
        d = {}
        for procs in (1, 8):
            runs = [decide(url, procs, seconds) for _ in range(1 if args.quick else 3)]
            bench_n = 5000 if args.quick else 60000
            peer = [redis_benchmark(port, url, procs, bench_n)
                    for _ in range(1 if args.quick else 3)]
            d[procs] = {"dps": statistics.median(r[0] for r in runs),
                        "not_admitted": sum(r[1] for r in runs),
                        "redis_benchmark_rps": statistics.median(peer)}
        results["decide"] = d
        results["decide_server_us"] = server_us(port)
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    rows = [("benchmark", "variant", "median ns/op", "spread (min-max)", "ratio to bare",
             "round trips/op", "note")]
    titles = {"connect": "B7 mapped connect (connect+close)",
              "sendrecv": "B7 unmapped send (64 B send+recv)"}
    for bench in ("connect", "sendrecv"):
        res = results[bench]
        for i, v in enumerate(res["variants"]):
            if "median" not in v:
                rows.append((titles[bench] if i == 0 else "", v["name"], "FAILED", "-", "-", "-",
                             (v["errors"] or ["?"])[0][:60]))
                continue
            trips = "%.3f" % res["round_trips_per_op"] if v["name"] == "redis" else "0"
            rows.append((titles[bench] if i == 0 else "", v["name"], "%.0f" % v["median"],
                         "%.0f-%.0f" % (v["min"], v["max"]),
                         "%.3fx" % v["ratio"] if "ratio" in v else "-", trips, v["note"]))
    for procs, dv in results["decide"].items():
        rows.append(("B7 decisions/s, %d process%s" % (procs, "" if procs == 1 else "es"),
                     "enact (gate + Redis store)", "%.0f/s" % dv["dps"], "-",
                     "%.2fx of redis-benchmark" % (dv["dps"] / dv["redis_benchmark_rps"]), "1",
                     "redis-benchmark EVALSHA, %d client%s: %.0f/s"
                     % (procs, "" if procs == 1 else "s", dv["redis_benchmark_rps"])))
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    for j, r in enumerate(rows):
        print("  ".join(c.ljust(widths[k]) for k, c in enumerate(r)).rstrip())
        if j == 0:
            print("  ".join("-" * w for w in widths))

    def ratio(bench, name):
        for v in results[bench]["variants"]:
            if v["name"] == name and "ratio" in v:
                return v["ratio"]
        return None

    print()
    print("targets (medians):")
    t = results["connect"]["round_trips_per_op"]
    print("  %-4s %-55s %s" % ("PASS" if t is not None and t <= 1.01 else "MISS",
                               "B7 at most one round trip per mapped decision",
                               "%.3f" % t if t is not None else "-"))
    t = results["sendrecv"]["round_trips_per_op"]
    print("  %-4s %-55s %s" % ("PASS" if t == 0 else "MISS",
                               "B7 no round trip for an unmapped call", t))
    r = ratio("sendrecv", "redis")
    print("  %-4s %-55s %s" % ("PASS" if r is not None and r <= 1.02 else "MISS",
                               "B7 unmapped send with backend = redis <= 1.02x bare",
                               "%.3fx" % r if r is not None else "-"))
    for procs, dv in results["decide"].items():
        q = dv["dps"] / dv["redis_benchmark_rps"]
        print("  %-4s %-55s %s" % ("PASS" if q >= 0.5 and dv["not_admitted"] == 0 else "MISS",
                                   "B7 decisions/s within 2x of redis-benchmark, %d proc" % procs,
                                   "%.2fx" % q))
    for what, s in (("bucket, quota and breaker", results["connect"]["server_us"]),
                    ("a bucket", results["decide_server_us"])):
        print("  %-4s %-55s %s" % ("info", "B7 server time per decision, %s" % what,
                                   "%.1f us" % s if s else "-"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
