#!/usr/bin/env python3
"""Enact micro-benchmarks: B1, B2, B3, B6.

Runs every variant of a benchmark side by side in one run, alternating
(bare, shim, peer, bare, shim, peer, ...; the order rotates each repetition),
R repetitions, and prints per variant the median ns/op, the spread (min-max)
and the ratio of the medians to bare.

  B1 sendrecv   64-byte send+recv on a socketpair:
                bare | shim (tools, none matching) | trickle (limit never reached)
  B2 connect    connect+close to a loopback listener:
                bare | shim (mapped tool: bucket, quota and breaker checked,
                never denying) | proxychains4 (loopback excluded)
  B3 spawn      posix_spawn /bin/true + waitpid:  bare | shim (mapped exec tool) | snoopy
  B3 forkexec   fork + execv /bin/true + waitpid: bare | shim (mapped exec tool) | snoopy
  B6 rss        VmRSS of a governed process at start, bare | shim (kB added)
  B6 startup    posix_spawn of /bin/true, bare | shim with no tool matching:
                the time the shim adds to each exec'd child's start (us)

Usage: python3 bench/run_micro.py [--quick] [--reps R] [--json OUT]
                                  [--only B1,B2,B3,B6] [--no-peers]
Needs build/libenact_shim.so (make); builds build/bench/micro itself and
fetches the peers with bench/peers.sh (nothing is installed system-wide).
"""

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.join(ROOT, "build")
SHIM = os.path.join(BUILD, "libenact_shim.so")
MICRO_SRC = os.path.join(HERE, "micro.c")
MICRO = os.path.join(BUILD, "bench", "micro")
EMPTY_SRC = os.path.join(HERE, "empty_preload.c")
EMPTY = os.path.join(BUILD, "bench", "empty_preload.so")

BIG = 1000000000  # limits the bench never reaches
TRICKLE_RATE = "10000000"  # KB/s, both ways: 10 GB/s, never reached

# Operations per timed run: (full, quick).
N = {
    "sendrecv": (500000, 100000),
    "connect": (20000, 4000),
    "spawn": (1000, 200),
    "forkexec": (1000, 200),
    "startup": (1000, 200),
}


def die(msg):
    print("run_micro: " + msg, file=sys.stderr)
    sys.exit(1)


def build_micro():
    os.makedirs(os.path.dirname(MICRO), exist_ok=True)
    cc = os.environ.get("CC", "cc")
    flags = [cc, "-O2", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror"]
    for out, src, extra in ((MICRO, MICRO_SRC, ["-pthread"]),
                            (EMPTY, EMPTY_SRC, ["-shared", "-fPIC"])):
        if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(src):
            continue
        cmd = flags + extra + ["-o", out, src]
        print("run_micro: " + " ".join(cmd), file=sys.stderr)
        if subprocess.call(cmd) != 0:
            die("cannot build " + out)


def get_peers(skip):
    if skip:
        return {}
    try:
        out = subprocess.run(["sh", os.path.join(HERE, "peers.sh")], stdout=subprocess.PIPE,
                             universal_newlines=True, timeout=300).stdout
    except (OSError, subprocess.SubprocessError) as e:
        print("run_micro: peers.sh failed (%s); going on without peers" % e, file=sys.stderr)
        return {}
    peers = {}
    for line in out.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            peers[k.strip()] = v.strip()
    return peers


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_configs(tmp, port):
    """The shim's configs; state files and audit logs in tmp."""
    limits = ("rate.max_calls_per_minute = {b}\nrate.burst_size = {b}\n"
              "quota.max_actions = {b}\nquota.window_hours = 24\n"
              "breaker.failure_threshold = 1000000\n").format(b=BIG)

    def head(name):
        return ("[enact]\nagent = bench\nstate = {d}/{n}.state\n"
                "audit_log = {d}/{n}-audit.jsonl\n\n").format(d=tmp, n=name)

    cfgs = {
        # B1, B6 start-up: tools, none of which any call of the bench matches.
        "unmapped": head("unmapped")
        + "[tool.elsewhere]\nconnect = 10.255.255.1:9\n" + limits
        + "\n[tool.nothing]\nexec = nothing-matches\n" + limits,
        # B2: the loopback listener is a tool whose every limit is checked.
        "connect": head("connect")
        + "[tool.api]\nconnect = 127.0.0.1:%d\n" % port + limits,
        # B3, B6 rss: /bin/true is a tool whose every limit is checked.
        "exec": head("exec") + "[tool.true]\nexec = true\n" + limits,
    }
    paths = {}
    for name, text in cfgs.items():
        p = os.path.join(tmp, name + ".ini")
        with open(p, "w") as f:
            f.write(text)
        paths[name] = p
    enact = os.path.join(BUILD, "enact")
    if os.access(enact, os.X_OK):
        for p in paths.values():
            r = subprocess.run([enact, "check", p], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, universal_newlines=True)
            if r.returncode != 0:
                die("generated config %s is refused:\n%s" % (p, r.stderr))
    return paths


class Variant:
    def __init__(self, name, argv, env=None, cwd=None, note=""):
        self.name = name
        self.argv = argv
        self.env = env or {}
        self.cwd = cwd
        self.note = note
        self.samples = []
        self.errors = []


def base_env():
    env = dict(os.environ)
    for k in ("LD_PRELOAD", "ENACT_CONFIG", "ENACT_AGENT", "ENACT_MODE"):
        env.pop(k, None)
    return env


def run_variant(v, timeout):
    env = base_env()
    env.update(v.env)
    try:
        r = subprocess.run(v.argv, env=env, cwd=v.cwd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        v.errors.append("timed out after %ds" % timeout)
        return
    lines = r.stdout.split()
    try:
        if r.returncode != 0 or not lines:
            raise ValueError
        v.samples.append(float(lines[-1]))
    except ValueError:
        v.errors.append("exit %d: %s" % (r.returncode, (r.stderr or r.stdout).strip()[:300]))


def shim_env(cfg):
    return {"LD_PRELOAD": SHIM, "ENACT_CONFIG": cfg}


def variants_for(bench, n, port, cfg, peers):
    m = MICRO
    if bench == "sendrecv":
        argv = [m, "sendrecv", str(n)]
        vs = [Variant("bare", argv),
              Variant("shim", argv, shim_env(cfg["unmapped"]), note="tools, none matching")]
        if "TRICKLE_BIN" in peers:
            vs.append(Variant("trickle", [peers["TRICKLE_BIN"], "-s", "-P", peers["TRICKLE_LIB"],
                                          "-u", TRICKLE_RATE, "-d", TRICKLE_RATE] + argv,
                              note="-s, 10 GB/s each way"))
        return vs
    if bench == "connect":
        argv = [m, "connect", str(n), str(port)]
        vs = [Variant("bare", argv),
              Variant("shim", argv, shim_env(cfg["connect"]),
                      note="mapped: bucket+quota+breaker, never deny")]
        if "PROXYCHAINS_LIB" in peers:
            vs.append(Variant("proxychains4", argv,
                              {"LD_PRELOAD": peers["PROXYCHAINS_LIB"],
                               "PROXYCHAINS_CONF_FILE": peers["PROXYCHAINS_CONF"],
                               "PROXYCHAINS_QUIET_MODE": "1"},
                              note="localnet 127.0.0.0/8"))
        return vs
    if bench in ("spawn", "forkexec"):
        argv = [m, bench, str(n)]
        vs = [Variant("bare", argv),
              Variant("shim", argv, shim_env(cfg["exec"]),
                      note="mapped exec tool, never deny")]
        if "SNOOPY_LIB" in peers:
            vs.append(Variant("snoopy", argv, {"LD_PRELOAD": peers["SNOOPY_LIB"]},
                              cwd=peers["SNOOPY_DIR"],
                              note="output = devnull" + ("; sees no posix_spawn, only loads"
                                                         if bench == "spawn" else "")))
        return vs
    if bench == "rss":
        argv = [m, "rss"]
        return [Variant("bare", argv),
                Variant("shim", argv, shim_env(cfg["exec"]), note="mapped exec tool")]
    if bench == "startup":
        # The parent is never preloaded here: only the child is (spawnchild).
        argv = [m, "spawnchild", str(n)]
        return [Variant("bare", argv),
                Variant("empty-preload", argv, {"MICRO_CHILD_PRELOAD": EMPTY},
                        note="child: an empty LD_PRELOAD library (floor)"),
                Variant("shim-child", argv, {"MICRO_CHILD_PRELOAD": SHIM,
                                             "MICRO_CHILD_CONFIG": cfg["unmapped"]},
                        note="child only: shim, no tool matching"),
                Variant("shim", [m, "spawn", str(n)], shim_env(cfg["unmapped"]),
                        note="parent and child governed, no tool matching")]
    raise ValueError(bench)


def summarise(v, bare_median):
    if not v.samples:
        return {"name": v.name, "note": v.note, "samples": [], "errors": v.errors}
    s = sorted(v.samples)
    med = statistics.median(s)
    d = {"name": v.name, "note": v.note, "samples": v.samples, "median": med,
         "min": s[0], "max": s[-1], "errors": v.errors}
    if len(s) >= 4:
        q = statistics.quantiles(s, n=4) if hasattr(statistics, "quantiles") else None
        if q:
            d["iqr"] = [q[0], q[2]]
    if bare_median:
        d["ratio"] = med / bare_median
        d["ratio_min"] = s[0] / bare_median
        d["ratio_max"] = s[-1] / bare_median
    return d


BENCHES = [
    # (group, bench id, title, unit)
    ("B1", "sendrecv", "B1 unmapped send (64 B send+recv, socketpair)", "ns/op"),
    ("B2", "connect", "B2 mapped connect (connect+close, loopback)", "ns/op"),
    ("B3", "spawn", "B3 exec: posix_spawn /bin/true + waitpid", "ns/op"),
    ("B3", "forkexec", "B3 exec: fork + execv /bin/true + waitpid", "ns/op"),
    ("B6", "rss", "B6 memory: VmRSS at start", "kB"),
    ("B6", "startup", "B6 start-up: posix_spawn /bin/true + waitpid", "ns/op"),
]


def targets(results):
    """The issue's targets, judged on the medians."""
    out = []

    def med(bench, name):
        for v in results.get(bench, {}).get("variants", []):
            if v["name"] == name:
                return v.get("median")
        return None

    def ratio(bench, name):
        b, x = med(bench, "bare"), med(bench, name)
        return x / b if b and x is not None else None

    def add(text, value, ok, shown):
        out.append({"target": text, "value": value, "ok": ok, "shown": shown})

    r = ratio("sendrecv", "shim")
    if r is not None:
        add("B1 shim <= 1.02x bare", r, r <= 1.02, "%.3fx" % r)
    r = ratio("connect", "shim")
    if r is not None:
        add("B2 shim <= 1.05x bare", r, r <= 1.05, "%.3fx" % r)
        p = ratio("connect", "proxychains4")
        if p is not None:
            add("B2 shim no dearer than proxychains4", r, r <= p, "%.3fx vs %.3fx" % (r, p))
    for b in ("spawn", "forkexec"):
        r = ratio(b, "shim")
        if r is not None:
            add("B3 %s shim <= 1.10x bare" % b, r, r <= 1.10, "%.3fx" % r)
            p = ratio(b, "snoopy")
            if p is not None and b == "spawn":
                add("B3 spawn shim below snoopy", r, r < p, "%.3fx vs %.3fx" % (r, p))
            elif p is not None:
                add("B3 %s shim no slower than snoopy" % b, r, r <= p, "%.3fx vs %.3fx" % (r, p))
    b, s = med("rss", "bare"), med("rss", "shim")
    if b is not None and s is not None:
        add("B6 RSS added per governed process < 400 kB", s - b, s - b < 400, "%+.0f kB" % (s - b))
    b, s = med("startup", "bare"), med("startup", "shim-child")
    if b is not None and s is not None:
        us = (s - b) / 1000.0
        add("B6 start-up added per exec < 50 us", us, us < 50, "%+.1f us" % us)
        e = med("startup", "empty-preload")
        if e is not None:
            add("B6 start-up beyond an empty preload (no target)", (s - e) / 1000.0, None,
                "%+.1f us (empty preload: %+.1f us)" % ((s - e) / 1000.0, (e - b) / 1000.0))
        f = med("startup", "shim")
        if f is not None:
            add("B6 spawn cost added, parent+child governed (no target)", (f - b) / 1000.0,
                None, "%+.1f us" % ((f - b) / 1000.0))
    return out


def fmt_num(x, unit):
    if x is None:
        return "-"
    if unit == "kB":
        return "%.0f" % x
    return "%.0f" % x if x >= 100 else "%.1f" % x


def print_table(order, results, tgts):
    rows = [("benchmark", "variant", "unit", "median", "spread (min-max)", "ratio", "n", "note")]
    for _, bench, title, unit in order:
        res = results.get(bench)
        if not res:
            continue
        for i, v in enumerate(res["variants"]):
            if "median" in v:
                spread = "%s-%s" % (fmt_num(v["min"], unit), fmt_num(v["max"], unit))
                ratio = "%.3fx" % v["ratio"] if "ratio" in v else "-"
                if unit == "kB" and v["name"] != "bare" and "ratio" in v:
                    ratio += " (%+.0f kB)" % (v["median"] - res["variants"][0].get("median", 0))
                row = (title if i == 0 else "", v["name"], unit, fmt_num(v["median"], unit),
                       spread, ratio, str(len(v["samples"])), v["note"])
            else:
                row = (title if i == 0 else "", v["name"], unit, "FAILED", "-", "-", "0",
                       (v["errors"] or ["?"])[0][:60])
            rows.append(row)
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    for j, r in enumerate(rows):
        print("  ".join(c.ljust(widths[k]) if k in (0, 1, 2, 7) else c.rjust(widths[k])
                        for k, c in enumerate(r)).rstrip())
        if j == 0:
            print("  ".join("-" * w for w in widths))
    if tgts:
        print()
        print("targets (medians):")
        for t in tgts:
            verdict = "info" if t["ok"] is None else ("PASS" if t["ok"] else "MISS")
            print("  %-4s %-55s %s" % (verdict, t["target"], t["shown"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 repetitions, small N")
    ap.add_argument("--reps", type=int, help="repetitions (default 7, --quick 2)")
    ap.add_argument("--json", metavar="OUT", help="write the results as JSON to OUT")
    ap.add_argument("--only", metavar="B1,B2,...", help="run only these groups")
    ap.add_argument("--no-peers", action="store_true", help="do not fetch or run peers")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()

    reps = args.reps or (2 if args.quick else 7)
    if reps < 1:
        die("--reps must be at least 1")
    only = set(x.strip().upper() for x in args.only.split(",")) if args.only else None
    order = [b for b in BENCHES if not only or b[0] in only]

    if not os.path.exists(SHIM):
        die("%s is missing: run make first" % SHIM)
    build_micro()
    peers = get_peers(args.no_peers)
    for key, peer in (("TRICKLE_BIN", "trickle"), ("PROXYCHAINS_LIB", "proxychains4"),
                      ("SNOOPY_LIB", "snoopy")):
        if key not in peers:
            print("run_micro: peer %s not available; its rows are left out" % peer,
                  file=sys.stderr)

    tmp = tempfile.mkdtemp(prefix="enact-bench-")
    port = free_port()
    cfg = write_configs(tmp, port)
    started = time.time()
    results = {}
    try:
        for _, bench, title, unit in order:
            n = N.get(bench, (1, 1))[1 if args.quick else 0]
            vs = variants_for(bench, n, port, cfg, peers)
            t0 = time.time()
            for rep in range(reps):
                k = rep % len(vs)
                for v in vs[k:] + vs[:k]:  # alternate; rotate the order each repetition
                    run_variant(v, timeout=120)
            bare = statistics.median(vs[0].samples) if vs[0].samples else None
            results[bench] = {"title": title, "unit": unit, "n": n if bench != "rss" else 1,
                              "seconds": round(time.time() - t0, 2),
                              "variants": [summarise(v, bare) for v in vs]}
            print("run_micro: %s: %d variants x %d in %.1fs"
                  % (bench, len(vs), reps, time.time() - t0), file=sys.stderr, flush=True)
    finally:
        if args.keep:
            print("run_micro: kept " + tmp, file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    tgts = targets(results)
    sys.stderr.flush()
    print()
    print("Enact micro-benchmarks: %d repetitions, alternating; %s, %d CPUs; %.0fs"
          % (reps, platform.machine(), os.cpu_count() or 0, time.time() - started))
    print()
    print_table(order, results, tgts)

    if args.json:
        doc = {
            "version": 1,
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "host": {"machine": platform.machine(), "cpus": os.cpu_count(),
                     "kernel": platform.release()},
            "reps": reps, "quick": args.quick,
            "peers": {k: v for k, v in peers.items()},
            "benchmarks": results,
            "targets": tgts,
        }
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        print("\nrun_micro: results written to " + args.json, file=sys.stderr)
    failed = any("median" not in v for r in results.values() for v in r["variants"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
