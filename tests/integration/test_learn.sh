#!/usr/bin/env bash
# timeout: 240
# enact learn on the python and the shell example agents, each started
# through a wrapper like pyenv's shims (a bash script that asks readlink,
# then execs the interpreter through env): the proposal passes enact check,
# has one tool per service and program the agent used and none for the
# wrapper's programs, a comment above every key, and rm in dry-run. Run
# again under it, each agent is refused nothing; run 10 times in a row, it
# is refused by the learnt rates. --from a kept log proposes the same tools;
# --duration stops a command that runs on; bad arguments are refused.
. "$(dirname "$0")/lib.sh"

# A python3 that is a wrapper, as pyenv's is: its own programs are not the
# agent's tools.
mkdir -p "$T/bin" "$T/real"
ln -s "$PY" "$T/real/python3"
cat >"$T/bin/python3" <<EOF
#!/usr/bin/env bash
here=\$(readlink -f "\$0")
exec env "$T/real/python3" "\$@"
EOF
chmod +x "$T/bin/python3"
export PATH="$T/bin:$PATH"

# tool_rules INI: "[tool.NAME] KEY = VALUE" for every connect and exec rule.
tool_rules() {
    awk '/^\[tool\./ {tool=$1} /^(connect|exec) = / {print tool, $0}' "$1"
}

# Every key of a proposal sits under a comment line.
keys_commented() {
    awk '/^[a-z]/ && prev !~ /^;/ {print "uncommented: " $0; bad=1} {prev=$0} END {exit bad}' "$1"
}

learn_agent() { # NAME INTERPRETER FILE
    local dir="$T/$1"
    cp -r "$ROOT/examples/$1" "$dir"
    rm -f "$dir"/*.state "$dir"/audit.jsonl "$dir/enact.ini"
    (cd "$dir" && timeout 60 "$ENACT" learn -o learnt.ini --log learn.jsonl -- "$2" "$3") \
        >"$dir/learn.out" 2>&1 || fail "$1: enact learn failed: $(cat "$dir/learn.out")"
    grep -q "wrote learnt.ini" "$dir/learn.out" || fail "$1: no summary: $(cat "$dir/learn.out")"
    "$ENACT" check "$dir/learnt.ini" >"$dir/check.out" 2>&1 ||
        fail "$1: the proposal does not pass enact check: $(cat "$dir/check.out")"
    keys_commented "$dir/learnt.ini" || fail "$1: a key without its evidence"
    tool_rules "$dir/learnt.ini" >"$dir/rules"
    for wrapper in bash env readlink; do
        ! grep -q "^\[tool\.$wrapper\] " "$dir/rules" ||
            fail "$1: the wrapper's $wrapper became a tool: $(cat "$dir/rules")"
    done
    sed -n '/^; Not governed/,/)\.$/p' "$dir/learnt.ini" | tr '\n' ' ' | grep -q "readlink" ||
        fail "$1: the header does not name the wrapper's programs: $(head -12 "$dir/learnt.ini")"
    awk '/^\[tool\.rm\]/ {rm=1} rm && /^dry_run = true/ {found=1} END {exit !found}' \
        "$dir/learnt.ini" || fail "$1: rm -rf is not simulated: $(cat "$dir/learnt.ini")"
}

# replay NAME INTERPRETER FILE TIMES: runs the agent TIMES times in a row
# under its learnt config.
replay() {
    local dir="$T/$1"
    for _ in $(seq "$4"); do
        (cd "$dir" && timeout 60 "$ENACT" run -c learnt.ini -- "$2" "$3") >>"$dir/replay.out" 2>&1 ||
            true
    done
}

denies() { # NAME: the deny records of the agent's log, as "tool reason"
    audit_eval "$T/$1/enact-audit.jsonl" \
        '"\n".join(sorted(set(r["tool"] + " " + r["reason"] for r in recs if r["verdict"] == "deny")))'
}

learn_agent python-agent python3 agent.py
check_eq "python: its tools" "[tool.local-18110] connect = 127.0.0.1:18110
[tool.local-18120] connect = 127.0.0.1:18120
[tool.rm] exec = rm" "$(cat "$T/python-agent/rules")"
grep -q "^; seen: 6 connects over" "$T/python-agent/learnt.ini" ||
    fail "python: the API's evidence: $(cat "$T/python-agent/learnt.ini")"
grep -q "^rate.max_calls_per_minute = 12$" "$T/python-agent/learnt.ini" ||
    fail "python: 6 calls seen in the minute, times 2: $(cat "$T/python-agent/learnt.ini")"

learn_agent shell-agent bash agent.sh
for tool in curl python3 local-18210 local-18219 rm; do
    grep -q "^\[tool\.$tool\] " "$T/shell-agent/rules" ||
        fail "shell: no tool $tool: $(cat "$T/shell-agent/rules")"
done
# The curl the script starts in a subshell ($(curl ...)) names the script's
# own process as what started it, not the subshell.
check_eq "shell: curl's parent is the script" True "$(audit_eval "$T/shell-agent/learn.jsonl" \
    '(all(r.get("parent") == recs[0]["pid"] for r in recs
          if r["op"] == "exec" and r["target"].endswith("/curl"))
      and any(r["target"].endswith("/curl") for r in recs))')"

replay python-agent python3 agent.py 1
check_eq "python: replayed, nothing refused" "" "$(denies python-agent)"
replay shell-agent bash agent.sh 1
check_eq "shell: replayed, nothing refused" "" "$(denies shell-agent)"
grep -q '"verdict":"dry_run"' "$T/python-agent/enact-audit.jsonl" ||
    fail "python: the replay's rm was not simulated"

replay python-agent python3 agent.py 10
refused=$(denies python-agent)
grep -qx "local-18110 rate_limited" <<<"$refused" ||
    fail "python: 10 runs in a row were not limited: $refused"
replay shell-agent bash agent.sh 10
refused=$(denies shell-agent)
grep -qx "curl rate_limited" <<<"$refused" ||
    fail "shell: 10 runs in a row were not limited: $refused"

# --from the log the run kept: the same tools.
"$ENACT" learn -o "$T/from.ini" --from "$T/python-agent/learn.jsonl" >"$T/from.out" 2>&1 ||
    fail "--from: $(cat "$T/from.out")"
check_eq "--from: the same tools" "$(cat "$T/python-agent/rules")" "$(tool_rules "$T/from.ini")"
grep -q "^; Proposed by enact learn on .* from the audit log" "$T/from.ini" ||
    fail "--from: the header: $(head -3 "$T/from.ini")"

# --duration ends a command that would run on, and still proposes.
start_http
port=$HTTP_PORT
start=$(date +%s)
rc=0
timeout 30 "$ENACT" learn --duration 2s -o "$T/loop.ini" -- bash -c \
    "while :; do curl -s -o /dev/null http://127.0.0.1:$port/; sleep 0.1; done" \
    >"$T/loop.out" 2>&1 || rc=$?
check_eq "--duration: exit status" 0 "$rc"
[ $(($(date +%s) - start)) -le 10 ] || fail "--duration 2s took $(($(date +%s) - start)) s"
grep -q "duration is over" "$T/loop.out" || fail "--duration: $(cat "$T/loop.out")"
grep -q "^connect = 127.0.0.1:$port$" "$T/loop.ini" || fail "--duration: $(cat "$T/loop.ini")"

# A service reached by name is proposed by its name.
"$ENACT" learn -o "$T/named.ini" -- "$PY" -c "
import urllib.request
for _ in range(3):
    urllib.request.urlopen('http://localhost:$port/', timeout=5).read()" >"$T/named.out" 2>&1 ||
    fail "by name: $(cat "$T/named.out")"
grep -q "^connect = localhost:$port$" "$T/named.ini" || fail "by name: $(cat "$T/named.ini")"

# What it refuses to do.
echo "; mine" >"$T/mine.ini"
rc=0
"$ENACT" learn -o "$T/mine.ini" -- true >"$T/err.out" 2>&1 || rc=$?
check_eq "-o over a file: exit status" 2 "$rc"
check_eq "-o over a file: left alone" "; mine" "$(cat "$T/mine.ini")"
grep -q "exists" "$T/err.out" || fail "-o over a file: $(cat "$T/err.out")"
rc=0
"$ENACT" learn >"$T/err.out" 2>&1 || rc=$?
check_eq "no command: exit status" 2 "$rc"
grep -q "give a command" "$T/err.out" || fail "no command: $(cat "$T/err.out")"
rc=0
"$ENACT" learn --headroom 0.5 -- true >"$T/err.out" 2>&1 || rc=$?
check_eq "--headroom 0.5: exit status" 2 "$rc"
rc=0
"$ENACT" learn -o "$T/none.ini" -- true >"$T/err.out" 2>&1 || rc=$?
check_eq "a command that calls nothing: exit status" 1 "$rc"
grep -q "no call to propose a tool for" "$T/err.out" || fail "nothing seen: $(cat "$T/err.out")"
[ ! -e "$T/none.ini" ] || fail "nothing seen, yet $T/none.ini was written"
