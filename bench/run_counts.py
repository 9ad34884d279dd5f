#!/usr/bin/env python3
"""Enact instruction and page-fault counts: what wall time cannot say on a
noisy machine.

  start      /bin/true started: bare | an empty LD_PRELOAD library (the
             floor any preload pays) | the shim (two tools, none matching;
             run once before, so that its compiled policy and state file
             exist). Instructions (callgrind) and, when perf can count,
             page faults and task-clock (perf stat -r).
  connect    per connect+close to a loopback listener: bare | shim (mapped
             tool) | proxychains4 (loopback excluded).
  sendrecv   per 64-byte send+recv on a socketpair: bare | shim (tools,
             none matching) | trickle.
  spawn      per posix_spawn /bin/true + waitpid, parent and child: bare |
             shim (mapped exec tool).

A count per operation is the difference of two runs (N2 and N1
operations) over N2 - N1, so start-up and exit cancel out. Every variant
runs under the same valgrind, so the counts are exact and repeatable.

Usage: python3 bench/run_counts.py [--quick] [--json OUT] [--no-peers]
"""

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_micro  # noqa: E402  (the same micro program, configs and peers)

TRUE = "/bin/true"
PERF_RUNS = (200, 40)  # perf stat -r, full and quick
# (N1, N2) operations per case, full and quick.
OPS = {"connect": ((200, 400), (50, 100)), "sendrecv": ((1000, 2000), (200, 400)),
       "spawn": ((10, 20), (2, 4))}


def die(msg):
    print("run_counts: " + msg, file=sys.stderr)
    sys.exit(1)


def clean_env():
    """The environment every count runs in: no preload of the caller's (a
    sanitizer's runtime would count, and cannot run under valgrind)."""
    return {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}


def callgrind(tmp, argv, env):
    """Instructions of the last program argv execs (env's own part is
    replaced by it at exec), or None when valgrind fails."""
    out = tempfile.mkdtemp(dir=tmp, prefix="cg-")
    cmd = ["valgrind", "--tool=callgrind", "--trace-children=yes",
           "--callgrind-out-file=" + os.path.join(out, "cg.%p"), "env"]
    cmd += ["%s=%s" % kv for kv in sorted(env.items())] + argv
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=600, env=clean_env())
    total = 0
    for path in glob.glob(os.path.join(out, "cg.*")):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = re.match(r"(summary|totals): (\d+)", line)
                if m:
                    total += int(m.group(2))
                    break
    shutil.rmtree(out, ignore_errors=True)
    if r.returncode != 0 or total == 0:
        print("run_counts: %s failed: %s" % (" ".join(argv), r.stderr[-400:]), file=sys.stderr)
        return None
    return total


def perf_stat(argv, env, runs):
    """Page faults and task-clock (ms) per run, or None without perf."""
    if not shutil.which("perf"):
        return None
    cmd = ["perf", "stat", "-x", ",", "-e", "page-faults,task-clock", "-r", str(runs), "--",
           "env"] + ["%s=%s" % kv for kv in sorted(env.items())] + argv
    try:
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=600, env=clean_env())
    except (OSError, subprocess.SubprocessError):
        return None
    got = {}
    for line in r.stderr.splitlines():
        f = line.split(",")
        if len(f) >= 3 and f[2] in ("page-faults", "task-clock"):
            try:
                got[f[2]] = float(f[0])
            except ValueError:
                pass
    if r.returncode != 0 or len(got) != 2:
        return None
    return {"faults": got["page-faults"], "task_ms": got["task-clock"]}


def per_op(tmp, make_argv, env, n1, n2):
    a, b = callgrind(tmp, make_argv(n1), env), callgrind(tmp, make_argv(n2), env)
    return None if a is None or b is None else (b - a) / float(n2 - n1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer runs and operations")
    ap.add_argument("--json", metavar="OUT", help="write the results as JSON to OUT")
    ap.add_argument("--no-peers", action="store_true", help="do not fetch or run peers")
    args = ap.parse_args()
    if not shutil.which("valgrind"):
        die("valgrind is required (make bench installs it)")
    if not os.path.exists(run_micro.SHIM):
        die(run_micro.SHIM + " is missing (run make)")
    run_micro.build_micro()
    peers = run_micro.get_peers(args.no_peers)
    tmp = tempfile.mkdtemp(prefix="enact-counts-")
    try:
        port = run_micro.free_port()
        cfg = run_micro.write_configs(tmp, port)
        m, shim, empty = run_micro.MICRO, run_micro.SHIM, run_micro.EMPTY
        unmapped = {"LD_PRELOAD": shim, "ENACT_CONFIG": cfg["unmapped"]}
        subprocess.run(["env"] + ["%s=%s" % kv for kv in unmapped.items()] + [TRUE], check=True,
                       env=clean_env())
        rows = []
        ops = {k: v[1 if args.quick else 0] for k, v in OPS.items()}

        start = [("bare", {}, ""), ("empty-preload", {"LD_PRELOAD": empty}, "the floor"),
                 ("shim", unmapped, "two tools, none matching")]
        for name, env, note in start:
            perf = perf_stat([TRUE], env, PERF_RUNS[1 if args.quick else 0])
            rows.append({"case": "start", "variant": name, "note": note,
                         "instructions": callgrind(tmp, [TRUE], env),
                         "faults": perf and perf["faults"], "task_ms": perf and perf["task_ms"]})

        connect = [("bare", {}, ""),
                   ("shim", {"LD_PRELOAD": shim, "ENACT_CONFIG": cfg["connect"]},
                    "mapped: bucket+quota+breaker")]
        if "PROXYCHAINS_LIB" in peers:
            connect.append(("proxychains4", {"LD_PRELOAD": peers["PROXYCHAINS_LIB"],
                                             "PROXYCHAINS_CONF_FILE": peers["PROXYCHAINS_CONF"],
                                             "PROXYCHAINS_QUIET_MODE": "1"},
                            "localnet 127.0.0.0/8"))
        for name, env, note in connect:
            rows.append({"case": "connect", "variant": name, "note": note,
                         "instructions": per_op(tmp, lambda n: [m, "connect", str(n), str(port)],
                                                env, *ops["connect"])})

        sendrecv = [("bare", {}, ""), ("shim", unmapped, "tools, none matching")]
        if "TRICKLE_BIN" in peers:
            sendrecv.append(("trickle", {}, "-s, never reached"))
        for name, env, note in sendrecv:
            wrap = ([peers["TRICKLE_BIN"], "-s", "-P", peers["TRICKLE_LIB"], "-u",
                     run_micro.TRICKLE_RATE, "-d", run_micro.TRICKLE_RATE]
                    if name == "trickle" else [])
            rows.append({"case": "sendrecv", "variant": name, "note": note,
                         "instructions": per_op(tmp, lambda n: wrap + [m, "sendrecv", str(n)],
                                                env, *ops["sendrecv"])})

        spawn = [("bare", {}, ""),
                 ("shim", {"LD_PRELOAD": shim, "ENACT_CONFIG": cfg["exec"]}, "mapped exec tool")]
        for name, env, note in spawn:
            rows.append({"case": "spawn", "variant": name, "note": note,
                         "instructions": per_op(tmp, lambda n: [m, "spawn", str(n)],
                                                env, *ops["spawn"])})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    titles = {"start": "/bin/true started", "connect": "per connect+close (loopback)",
              "sendrecv": "per send+recv (64 B, socketpair)",
              "spawn": "per posix_spawn+waitpid, parent and child"}
    floor = {"start": "empty-preload"}
    print()
    print("Enact instruction counts (callgrind) and page faults (perf stat); per-operation "
          "counts are (N2 - N1 runs) / (N2 - N1);")
    print("the start's page faults and task-clock include env's own start, which sets the "
          "variables (the same for every variant)")
    print()
    head = ("case", "variant", "instructions", "ratio", "page faults", "task-clock ms", "note")
    table = [head]
    summary = {}
    for case in ("start", "connect", "sendrecv", "spawn"):
        mine = [r for r in rows if r["case"] == case]
        base = next((r["instructions"] for r in mine if r["variant"] == floor.get(case, "bare")),
                    None)
        for i, r in enumerate(mine):
            ins = r["instructions"]
            ratio = "%.2fx %s" % (ins / base, floor.get(case, "bare")) if ins and base else "-"
            r["ratio"] = ins / base if ins and base else None
            summary[(case, r["variant"])] = r
            table.append((titles[case] if i == 0 else "", r["variant"],
                          "{:,.0f}".format(ins) if ins is not None else "failed", ratio,
                          "%.0f" % r["faults"] if r.get("faults") is not None else "-",
                          "%.3f" % r["task_ms"] if r.get("task_ms") is not None else "-",
                          r["note"]))
    widths = [max(len(str(row[c])) for row in table) for c in range(len(head))]
    for k, row in enumerate(table):
        print("  ".join(str(v).ljust(widths[c]) for c, v in enumerate(row)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))
    print()
    s = summary.get(("start", "shim"), {}).get("ratio")
    if s is not None:
        print("  %s /bin/true under the shim <= 1.3x an empty preload's instructions: %.2fx"
              % ("PASS" if s <= 1.3 else "MISS", s))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"version": 1, "rows": rows}, f, indent=2)
            f.write("\n")
    return 1 if any(r["instructions"] is None for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
