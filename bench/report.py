#!/usr/bin/env python3
"""Writes BENCHMARKS.md from the printed tables of bench/run_micro.py,
bench/run_gate.py, bench/run_fleet.py and bench/run_counts.py (their text output, kept
verbatim) and a description of the machine they ran on."""
import datetime
import os
import platform
import subprocess
import sys


def command_output(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    glibc = command_output("ldd", "--version").splitlines()[:1]
    cc = command_output("cc", "--version").splitlines()[:1]
    return [
        f"- CPU: {model}, {os.cpu_count()} logical CPUs",
        f"- Kernel: {platform.system()} {platform.release()}",
        f"- C library: {glibc[0] if glibc else '?'}",
        f"- Compiler: {cc[0] if cc else '?'}",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
    ]


def main():
    micro, gate, fleet, counts = (open(p, encoding="utf-8").read().rstrip()
                                  for p in sys.argv[1:5])
    notes = open(sys.argv[5], encoding="utf-8").read().rstrip() if len(sys.argv) > 5 else ""
    out = [
        "# Benchmarks",
        "",
        "What the shim costs per call, measured side by side with the bare call and with",
        "the tools users would pick instead, in one run: the variants alternate, each is",
        "repeated, and the tables give the median, the spread and the ratio to bare.",
        "",
        "Reproduce with `make bench` (about 5 minutes on 2 cores; it unpacks Debian's",
        "trickle, proxychains4 and snoopy under build/bench without installing them).",
        "This file is rewritten by it.",
        "",
        "## Machine",
        "",
        *machine(),
        "",
        "## B1 unmapped send, B2 mapped connect, B3 exec, B6 memory and start-up",
        "",
        "```",
        micro,
        "```",
        "",
        "## B4 decisions per second, B5 scale",
        "",
        "```",
        gate,
        "```",
        "",
        "## B7 limits on Redis (README \"Running a fleet\")",
        "",
        "A redis-server of the run's own on loopback, on the same 2 cores as the agent.",
        "Round trips are counted by the server (each script run reads TIME once).",
        "",
        "```",
        fleet,
        "```",
        "",
        "## Instructions and page faults (callgrind, perf stat)",
        "",
        "Counts that do not depend on the machine's noise: every variant runs under the",
        "same valgrind (instructions) or perf stat (page faults, task-clock).",
        "",
        "```",
        counts,
        "```",
    ]
    if notes:
        out += ["", notes]
    print("\n".join(out))


if __name__ == "__main__":
    main()
