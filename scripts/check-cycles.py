#!/usr/bin/env python3
"""No two files of shim/ call each other, directly or round a loop.

Reads the objects of a build: file A depends on file B when A's object
leaves a symbol undefined that B's object defines. Calls of a name the
shim exports (its interposers: connect, write, ...) are libc's names, not
the file that defines our hook of that name, and are left out: the shim's
own code reaches libc through real.* or store/sys.h, and the few calls that
enter a hook on purpose are listed in tests/integration/test_own_calls.sh.

Usage: scripts/check-cycles.py BUILD   (BUILD holds obj/shim/*/*.o and
libenact_shim.so). Exits 1, naming each loop and the symbols that tie it.
"""
import glob
import os
import subprocess
import sys


def symbols(args):
    out = subprocess.run(["nm"] + args, capture_output=True, text=True, check=True).stdout
    return [line.split()[-1] for line in out.splitlines() if line.strip()]


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    # Only objects of sources that exist: a build folder may hold objects of
    # files since moved or removed.
    objs = sorted(o for o in glob.glob(os.path.join(build, "obj", "shim", "*", "*.o"))
                  if os.path.exists(os.path.relpath(o, os.path.join(build, "obj"))[:-2] + ".c"))
    if not objs:
        sys.exit("cycles: no objects under %s/obj/shim (build first)" % build)
    hooks = set(symbols(["-D", "--defined-only", os.path.join(build, "libenact_shim.so")]))
    name = {o: os.path.relpath(o, os.path.join(build, "obj"))[:-2] + ".c" for o in objs}
    where = {}
    for o in objs:
        for s in symbols(["--defined-only", "-g", o]):
            where.setdefault(s, set()).add(o)
    deps = {o: {} for o in objs}
    for o in objs:
        for s in symbols(["-u", o]):
            if s in hooks:
                continue
            for d in where.get(s, ()):
                if d != o:
                    deps[o].setdefault(d, []).append(s)
    # Tarjan's strongly connected components.
    index, low, stack, on, loops = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in deps[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                loops.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for o in objs:
        if o not in index:
            visit(o)
    for comp in loops:
        print("cycles: these files call each other: " + ", ".join(name[o] for o in comp),
              file=sys.stderr)
        for a in comp:
            for b in comp:
                if b in deps[a]:
                    print("cycles:   %s -> %s: %s" % (name[a], name[b],
                                                    ", ".join(sorted(set(deps[a][b])))),
                          file=sys.stderr)
    if loops:
        sys.exit(1)
    print("cycles: no two files of shim/ call each other round a loop")


main()
