#!/usr/bin/env python3
"""Issue 8, B4 and B5: the gate's decisions per second against a Redis Lua
token bucket, and the gate's cost as rules and agents grow.

    python3 bench/run_gate.py [--quick] [-r R] [--json OUT]

Builds build/bench/gate_bench from bench/gate_bench.c and the .c files of shim/pure, shim/store, shim/policy
when it is missing or older than its sources, then runs, R times
(default 5; --quick: 1, short durations), alternating every case within
each repetition:

  B4   gate_bench b4 PROCS shared|distinct SECONDS   PROCS = 1, 2, 4, 8
       bench/redis_lua.py, 1 and 8 clients (one shared key; 8 clients also
       on distinct keys)
  B5   gate_bench b5rules 10 | 1000 | 10000
       gate_bench b5agents 1 | 100 | 10000 (the state file as the shim
       sizes it by default, its tables growing), and 10000 with
       [enact] max_agents = 10000

and prints medians with their spread (min..max, and (max-min)/median) and
the ratios the targets ask for:

  B4: gate decisions per CPU second (one process: one core) over Redis Lua
      decisions per server CPU second (its best, 8 clients; the client's
      CPU is not charged to Redis). Target >= 100.
  B5: cost at the largest over cost at the smallest. Target <= 2.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bench", "gate_bench")
SRC = os.path.join(ROOT, "bench", "gate_bench.c")
FLOORS = [os.path.join(ROOT, "shim", f) for f in ("pure", "store", "policy")]


def build(src=SRC, binary=BIN):
    """Builds a benchmark program over the core (shim/pure, store, policy),
    again only when a source is newer."""
    srcs = [src] + [os.path.join(d, f) for d in FLOORS for f in sorted(os.listdir(d))
                    if f.endswith((".c", ".h"))]
    if os.path.exists(binary) and \
            os.path.getmtime(binary) >= max(os.path.getmtime(s) for s in srcs):
        return
    os.makedirs(os.path.dirname(binary), exist_ok=True)
    cmd = ["cc", "-O2", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror",
           *["-I" + d for d in FLOORS], src] + [s for s in srcs[1:] if s.endswith(".c")] + \
          ["-linih", "-lm", "-o", binary]
    print("building:", " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c
                                for c in cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, cwd=ROOT)


def parse_kv(line):
    out = {}
    for tok in line.split():
        k, _, v = tok.partition("=")
        try:
            out[k] = int(v)
        except ValueError:
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
    return out


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    lines = [l for l in p.stdout.splitlines() if l.startswith("mode=")]
    if p.returncode not in (0, 1) or not lines:
        sys.exit("failed: %s\n%s%s" % (" ".join(cmd), p.stdout, p.stderr))
    return [parse_kv(l) for l in lines]


def cases(quick):
    b4s = 0.3 if quick else 2.0
    b5s = 0.2 if quick else 0.5
    r1, r8 = (8000, 30000) if quick else (30000, 100000)
    redis = [sys.executable, os.path.join(ROOT, "bench", "redis_lua.py")]
    out = []
    for procs in (1, 2, 4, 8):
        for kind in ("shared", "distinct"):
            out.append(("b4 gate %d proc %s" % (procs, kind),
                        [BIN, "b4", str(procs), kind, str(b4s)]))
    out.append(("b4 redis 1 client shared", redis + ["--clients", "1", "--requests", str(r1)]))
    out.append(("b4 redis 8 clients shared", redis + ["--clients", "8", "--requests", str(r8)]))
    out.append(("b4 redis 8 clients distinct",
                redis + ["--clients", "8", "--requests", str(r8), "--keys", "distinct"]))
    for n in (10, 1000, 10000):
        out.append(("b5 rules %d" % n, [BIN, "b5rules", str(n), str(b5s)]))
    for n in (1, 100, 10000):
        out.append(("b5 agents %d" % n, [BIN, "b5agents", str(n), str(b5s)]))
    out.append(("b5 agents 10000 sized", [BIN, "b5agents", "10000", str(b5s), "sized"]))
    return out


def summary(values):
    med = statistics.median(values)
    lo, hi = min(values), max(values)
    return {"median": med, "min": lo, "max": hi, "n": len(values),
            "spread": (hi - lo) / med if med else 0.0}


def num(v):
    return "%.3g" % v if v < 1000 else "{:,.0f}".format(v)


def fmt(s):
    return "%s (%s..%s, +-%.0f%%)" % (num(s["median"]), num(s["min"]), num(s["max"]),
                                     50 * s["spread"])


def ratio(a, b):
    """Median ratio, and the range from the worst to the best pairing."""
    return {"median": a["median"] / b["median"], "min": a["min"] / b["max"],
            "max": a["max"] / b["min"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="R=1, short durations (< 1 min)")
    ap.add_argument("-r", "--repetitions", type=int)
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()
    reps = args.repetitions or (1 if args.quick else 5)
    build()

    plan = cases(args.quick)
    raw = {name: [] for name, _ in plan}
    t0 = time.monotonic()
    for rep in range(reps):
        for name, cmd in plan:
            raw[name].extend(run(cmd))
        print("repetition %d/%d done (%.0f s)" % (rep + 1, reps, time.monotonic() - t0),
              file=sys.stderr)

    def s(name, key):
        return summary([r[key] for r in raw[name]])

    res = {"repetitions": reps, "quick": args.quick, "ncpu": os.cpu_count(),
           "elapsed_s": time.monotonic() - t0, "raw": raw, "b4": {}, "b5": {}, "targets": {}}

    print("\nB4  decisions per second (median (min..max, +-half spread)), %d repetition(s), "
          "%d CPUs" % (reps, os.cpu_count()))
    print("  %-30s %-40s %-40s %s" % ("case", "decisions/s (all procs)", "per CPU second",
                                        "refused"))
    for procs in (1, 2, 4, 8):
        for kind in ("shared", "distinct"):
            n = "b4 gate %d proc %s" % (procs, kind)
            d, c = s(n, "dps"), s(n, "dps_per_cpu_s")
            res["b4"][n] = {"dps": d, "dps_per_cpu_s": c,
                            "refused": sum(r["refused"] for r in raw[n])}
            print("  %-30s %-40s %-40s %d" % (n, fmt(d), fmt(c), res["b4"][n]["refused"]))
    for n in ("b4 redis 1 client shared", "b4 redis 8 clients shared",
              "b4 redis 8 clients distinct"):
        d, c = s(n, "rps"), s(n, "dps_per_server_cpu_s")
        res["b4"][n] = {"dps": d, "dps_per_server_cpu_s": c, "client": raw[n][0]["client"]}
        print("  %-30s %-40s %-40s (server CPU only; client: %s)"
              % (n, fmt(d), fmt(c), raw[n][0]["client"]))

    gate_core = s("b4 gate 1 proc shared", "dps_per_cpu_s")
    redis_core = max((s(n, "dps_per_server_cpu_s") for n in
                      ("b4 redis 1 client shared", "b4 redis 8 clients shared")),
                     key=lambda x: x["median"])
    per_core = ratio(gate_core, redis_core)
    e2e_1 = ratio(s("b4 gate 1 proc shared", "dps"), s("b4 redis 1 client shared", "rps"))
    e2e_8 = ratio(s("b4 gate 8 proc shared", "dps"), s("b4 redis 8 clients shared", "rps"))
    shared_scaling = ratio(s("b4 gate 8 proc shared", "dps_per_cpu_s"), gate_core)
    res["targets"]["b4_per_core_ratio"] = dict(per_core, target=">= 100",
                                                met=per_core["median"] >= 100)
    res["b4"]["ratios"] = {"per_core": per_core, "one_caller": e2e_1, "eight_callers": e2e_8,
                           "shared_8proc_vs_1proc_per_cpu": shared_scaling}
    print("\n  gate per core / redis lua per core (1 proc shared, per CPU s / best redis per "
          "server CPU s): %.0fx (%.0f..%.0f)  target >= 100x: %s"
          % (per_core["median"], per_core["min"], per_core["max"],
             "MET" if per_core["median"] >= 100 else "MISSED"))
    print("  one caller:   gate 1 proc / redis 1 client (wall decisions/s): %.0fx"
          % e2e_1["median"])
    print("  eight callers: gate 8 procs shared / redis 8 clients (wall decisions/s, %d CPUs): "
          "%.0fx" % (os.cpu_count(), e2e_8["median"]))
    print("  contention: gate per CPU s, 8 procs on one bucket / 1 proc: %.2f"
          % shared_scaling["median"])

    print("\nB5  cost per decision (ns, median (min..max, +-half spread))")
    for n in (10, 1000, 10000):
        name = "b5 rules %d" % n
        r = raw[name][0]
        row = {k: s(name, k) for k in ("ns_match_last_decide", "ns_decide_only",
                                        "ns_match_none")}
        row.update(state_bytes=r["state_bytes"], state_alloc_bytes=r["state_alloc_bytes"],
                   config_load_ms=s(name, "config_load_ms"))
        res["b5"][name] = row
        print("  %-24s match(last)+decide %-34s decide only %-30s match(none) %-30s "
              "state file %s B (%s B on disk), load %.0f ms"
              % (name, fmt(row["ns_match_last_decide"]), fmt(row["ns_decide_only"]),
                 fmt(row["ns_match_none"]), "{:,}".format(r["state_bytes"]),
                 "{:,}".format(r["state_alloc_bytes"]), row["config_load_ms"]["median"]))
    for name in ("b5 agents 1", "b5 agents 100", "b5 agents 10000", "b5 agents 10000 sized"):
        r = raw[name][0]
        row = {"ns_per_decision": s(name, "ns_per_decision"),
               "refused": sum(x["refused"] for x in raw[name]),
               "state_full": sum(x["state_full"] for x in raw[name]),
               "decisions": sum(x["decisions"] for x in raw[name]),
               "bucket_slots": r["bucket_slots"], "state_bytes": r["state_bytes"],
               "state_alloc_bytes": r["state_alloc_bytes"]}
        res["b5"][name] = row
        print("  %-24s decide %-34s refused %d/%d (state_full %d), bucket slots %d, "
              "state file %s B (%s B on disk)"
              % (name, fmt(row["ns_per_decision"]), row["refused"], row["decisions"],
                 row["state_full"], row["bucket_slots"], "{:,}".format(r["state_bytes"]),
                 "{:,}".format(r["state_alloc_bytes"])))

    def b5ratio(key, big, small, field):
        q = ratio(s(big, field), s(small, field))
        res["targets"][key] = dict(q, target="<= 2", met=q["median"] <= 2)
        print("  %-58s %7.2fx (%.2f..%.2f)  target <= 2x: %s"
              % (key, q["median"], q["min"], q["max"], "MET" if q["median"] <= 2 else "MISSED"))

    print("\n  largest / smallest:")
    b5ratio("b5_rules_match_last_decide_10000_vs_10", "b5 rules 10000", "b5 rules 10",
            "ns_match_last_decide")
    b5ratio("b5_rules_match_none_10000_vs_10", "b5 rules 10000", "b5 rules 10", "ns_match_none")
    b5ratio("b5_rules_decide_only_10000_vs_10", "b5 rules 10000", "b5 rules 10",
            "ns_decide_only")
    b5ratio("b5_agents_10000_vs_1 (default state size)", "b5 agents 10000", "b5 agents 1",
            "ns_per_decision")
    b5ratio("b5_agents_10000_sized_vs_1", "b5 agents 10000 sized", "b5 agents 1",
            "ns_per_decision")
    if res["b5"]["b5 agents 10000"]["state_full"]:
        print("  note: 10,000 agents on the default state file: %d of %d decisions were "
              "refused state_full (the bucket table and its extensions: %d slots); the "
              "file should have grown for them (README \"State file\")"
              % (res["b5"]["b5 agents 10000"]["state_full"],
                 res["b5"]["b5 agents 10000"]["decisions"],
                 res["b5"]["b5 agents 10000"]["bucket_slots"]))
    print("\nelapsed %.0f s" % (time.monotonic() - t0))
    res["elapsed_s"] = time.monotonic() - t0
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
        print("wrote", args.json)


if __name__ == "__main__":
    main()
