#!/usr/bin/env python3
"""Prints an Enact audit log (JSON Lines) as a table: one row per record."""
import json
import sys


def row(rec):
    target = rec.get("target", "")
    if rec.get("argv"):
        target = " ".join(rec["argv"])
    why = rec.get("reason") or ""
    if "retry_after_ms" in rec:
        why += f" (retry in {rec['retry_after_ms'] / 1000:.1f}s)"
    if rec.get("verdict") == "breaker":
        why = f"{rec.get('from')} -> {rec.get('to')}"
    if rec.get("verdict") == "dry_run":
        why = f"impact {rec.get('impact')}: {rec.get('impact_reason', '')}"
        target = rec.get("would_execute", target)
    return [rec.get("ts", "")[11:23], rec.get("agent", ""), rec.get("tool", ""),
            rec.get("op", ""), rec.get("verdict", ""), why, target]


def main(path):
    rows = [["TIME", "AGENT", "TOOL", "OP", "VERDICT", "REASON", "TARGET"]]
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                rows.append(row(json.loads(line)))
            except ValueError:
                print(f"{path}:{n}: not a JSON record", file=sys.stderr)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print(f"{len(rows) - 1} record(s)")


if __name__ == "__main__":
    main(sys.argv[1])
