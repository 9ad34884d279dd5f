#!/usr/bin/env bash
# The shim's variables (its LD_PRELOAD entry, ENACT_*) are invisible to a
# governed program and still reach every program it starts, whatever
# environment it passes (README "What the agent sees"). A governed python3 agent (agent
# "scrub"), tool touch at burst 2:
#   - its os.environ has no LD_PRELOAD and no ENACT_* variable, and keeps the
#     caller's own variables (MY_VAR);
#   - a child with the inherited environment prints MY_VAR and nothing of
#     Enact; a child run with env={} (`env`) prints nothing at all;
#   - `env -i sh -c "touch a; touch b; touch c"`: a and b are created, the
#     third touch is refused (sh exits 126): still governed, as agent scrub;
#   - subprocess.run(["touch", "d"], env={"PATH": "/usr/bin:/bin"}): refused
#     (PermissionError), the burst being spent: still governed;
#   - a child given its own LD_PRELOAD (/nonexistent/libfoo.so, the loader
#     warns on stderr) sees exactly that LD_PRELOAD, and is still governed:
#     its `touch e` is refused;
# exactly 3 records (c, d, e), all agent scrub.
. "$(dirname "$0")/lib.sh"

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.touch]
exec = touch
rate.max_calls_per_minute = 1
rate.burst_size = 2
INI

cat >"$T/agent.py" <<'PY'
import os, subprocess

def enact_vars(names):
    return sorted(k for k in names if k == "LD_PRELOAD" or k.startswith("ENACT"))

print("own:", enact_vars(os.environ), os.environ.get("MY_VAR"))

r = subprocess.run(["env"], capture_output=True, text=True, check=True)
names = [line.split("=", 1)[0] for line in r.stdout.splitlines()]
print("inherited child:", enact_vars(names), "MY_VAR" in names)

r = subprocess.run(["env"], env={}, capture_output=True, text=True)
print("env={}:", r.returncode, repr(r.stdout), repr(r.stderr))

r = subprocess.run(["env", "-i", "sh", "-c", "touch out/a; touch out/b; touch out/c"],
                   capture_output=True, text=True)
print("env -i:", r.returncode, repr(r.stdout), repr(r.stderr))

try:
    r = subprocess.run(["touch", "out/d"], env={"PATH": "/usr/bin:/bin"})
    print("touch d:", r.returncode)
except PermissionError as e:
    print("touch d: PermissionError", e.errno)

r = subprocess.run(["sh", "-c", 'echo "LD_PRELOAD=$LD_PRELOAD"; env | grep -c ^ENACT_; touch out/e'],
                   env={"LD_PRELOAD": "/nonexistent/libfoo.so", "PATH": "/usr/bin:/bin"},
                   capture_output=True, text=True)
print("own LD_PRELOAD:", r.returncode, repr(r.stdout))
with open("own_preload.err", "w") as f:
    f.write(r.stderr)
PY

mkdir "$T/out"
set +e
# ENACT_ROOT (set by run.sh) is the caller's variable, not the shim's: it
# is left out so that any ENACT_* the agent sees comes from the shim.
(cd "$T" && env -u ENACT_ROOT MY_VAR=kept timeout 30 "$ENACT" run -c "$T/enact.ini" -a scrub -- "$PY" agent.py) \
    >"$T/stdout" 2>"$T/stderr"
rc=$?
set -e
cat "$T/stdout" "$T/stderr"
check_eq "agent exit status" 0 "$rc"
check_eq "what the agent saw" "own: [] kept
inherited child: [] True
env={}: 0 '' ''
env -i: 126 '' 'sh: 1: touch: Operation not permitted\\n'
touch d: PermissionError 1
own LD_PRELOAD: 126 'LD_PRELOAD=/nonexistent/libfoo.so\\n0\\n'" "$(cat "$T/stdout")"
check_eq "files created" "a b" "$(cd "$T/out" && echo *)"

# The child with its own LD_PRELOAD: the loader's warnings (one per program
# it loaded: sh, env, grep), then sh's refusal of touch e.
check_eq "own LD_PRELOAD: loader warnings (sh, env, grep)" 3 \
    "$(grep -c "object '/nonexistent/libfoo.so' from LD_PRELOAD cannot be preloaded" \
        "$T/own_preload.err" || true)"
check_eq "own LD_PRELOAD: the refusal" "sh: 1: touch: Operation not permitted" \
    "$(grep -v 'libfoo.so' "$T/own_preload.err")"

audit_check "$T/audit.jsonl" 3 verdict=deny reason=rate_limited tool=touch op=exec \
    errno=EPERM argv0=touch agent=scrub
check_eq "targets are the touch program" True \
    "$(audit_eval "$T/audit.jsonl" 'all(r["target"].endswith("/touch") for r in recs)')"
check_eq "records (exe, argv)" \
    "[('sh', ['touch', 'out/c']), ('$(basename "$PY")', ['touch', 'out/d']), ('sh', ['touch', 'out/e'])]" \
    "$(audit_eval "$T/audit.jsonl" '[(r["exe"], r["argv"]) for r in recs]')"
