#!/usr/bin/env bash
# [agent] quota.max_actions = 3 for every agent, [agent.premium] 6: of 8
# separate `enact run -a free -- curl`, exactly 3 get 200; of 8 with
# -a premium, exactly 6. The refusals are quota_exceeded records naming the
# agent; a quota spent stays spent in later runs of that agent, and another
# agent (named by ENACT_AGENT, raw preload) has a quota of its own. The
# [agent] quota counts all the agent's mapped calls, over every tool; a call
# refused by one limit is charged to none (tool mk's own quota of 1 refuses
# a second mkdir without spending the agent's quota).
. "$(dirname "$0")/lib.sh"

start_http 127.0.0.1
cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.api]
connect = 127.0.0.1:$HTTP_PORT
[tool.mk]
exec = mkdir
quota.max_actions = 1
[agent]
quota.max_actions = 3
[agent.premium]
quota.max_actions = 6
INI

count_curls 8 "$ENACT" run -c "$T/enact.ini" -a free -- curl "$HTTP_URL"
check_eq "agent free: curls answered 200" 3 "$CURL_OK"
check_eq "agent free: curls refused" 5 "$CURL_DENIED"
audit_check "$T/audit.jsonl" 5 verdict=deny reason=quota_exceeded tool=api op=connect \
    errno=EPERM agent=free "target=127.0.0.1:$HTTP_PORT"

count_curls 8 "$ENACT" run -c "$T/enact.ini" -a premium -- curl "$HTTP_URL"
check_eq "agent premium: curls answered 200" 6 "$CURL_OK"
check_eq "agent premium: curls refused" 2 "$CURL_DENIED"
audit_check "$T/audit.jsonl" 7 verdict=deny reason=quota_exceeded tool=api errno=EPERM
check_eq "agents of the refusals" "True" "$(audit_eval "$T/audit.jsonl" \
    '[r["agent"] for r in recs] == ["free"]*5 + ["premium"]*2')"

# A new run of free, several calls in one process: the quota is still spent.
cat >"$T/agent.py" <<'PY'
import socket, sys
port = int(sys.argv[1])
for i in range(3):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port))
        print("ok")
    except PermissionError:
        print("refused")
    finally:
        s.close()
PY
out=$("$ENACT" run -c "$T/enact.ini" -a free -- "$PY" "$T/agent.py" "$HTTP_PORT")
check_eq "free, next run" "refused refused refused" "$(echo $out)"

# Another agent, named by ENACT_AGENT under the raw preload: [agent]'s 3.
out=$(LD_PRELOAD=$SHIM ENACT_CONFIG=$T/enact.ini ENACT_AGENT=other \
    "$PY" "$T/agent.py" "$HTTP_PORT")
out2=$(LD_PRELOAD=$SHIM ENACT_CONFIG=$T/enact.ini ENACT_AGENT=other \
    "$PY" "$T/agent.py" "$HTTP_PORT")
check_eq "agent other: 3 of 6 connects" "ok ok ok refused refused refused" "$(echo $out $out2)"

audit_check "$T/audit.jsonl" 13 verdict=deny reason=quota_exceeded tool=api errno=EPERM
check_eq "agents of all refusals" "True" "$(audit_eval "$T/audit.jsonl" \
    '[r["agent"] for r in recs] == ["free"]*5 + ["premium"]*2 + ["free"]*3 + ["other"]*3')"
# retry_after_ms: when the oldest counted action leaves the 24 h window,
# counted in slots of 1/60 of the window (so at most 24 h + 24 min).
check_eq "refusals say when the quota frees a slot" "True" "$(audit_eval "$T/audit.jsonl" \
    'all(isinstance(r.get("retry_after_ms"), int) and 0 < r["retry_after_ms"] <= 87840000
         for r in recs)')"

# Agent mixed: [agent]'s 3 over both tools. mkdir 1 passes (mk 1/1, agent
# 1/3), mkdir 2 is refused by mk's quota (agent still 1/3), then 2 curls
# pass (3/3) and the third is refused by the agent's quota; ls (no tool)
# is not counted.
mkdir "$T/mixed"
mixed() {
    set +e
    (cd "$T/mixed" && "$ENACT" run -c "$T/enact.ini" -a mixed -- sh -c "$1" 2>/dev/null)
    echo $?
    set -e
}
check_eq "mixed: mkdir 1" 0 "$(mixed 'mkdir d1')"
check_eq "mixed: mkdir 2 (tool quota)" 126 "$(mixed 'mkdir d2')"
check_eq "mixed: ls is not governed" 0 "$(mixed 'ls >/dev/null; ls >/dev/null; ls >/dev/null')"
count_curls 3 "$ENACT" run -c "$T/enact.ini" -a mixed -- curl "$HTTP_URL"
check_eq "mixed: curls answered 200 (the agent's 2nd and 3rd action)" 2 "$CURL_OK"
check_eq "mixed: records" "True" "$(audit_eval "$T/audit.jsonl" \
    '([(r["tool"], r["reason"]) for r in recs if r["agent"] == "mixed"] ==
      [("mk", "quota_exceeded"), ("api", "quota_exceeded")])')"

# [enact] agent names the agent when -a and ENACT_AGENT do not: premium's 6.
sed 's/^\[enact\]$/[enact]\nagent = premium/; s/^state = t.state$/state = named.state/' \
    "$T/enact.ini" >"$T/named.ini"
grep -q '^agent = premium$' "$T/named.ini" || fail "named.ini has no agent key"
count_curls 7 "$ENACT" run -c "$T/named.ini" -- curl "$HTTP_URL"
check_eq "[enact] agent = premium: curls answered 200" 6 "$CURL_OK"
check_eq "[enact] agent = premium: the refusal's agent" premium \
    "$(audit_eval "$T/audit.jsonl" 'recs[-1]["agent"]')"
# -a still wins over the file's agent.
count_curls 4 "$ENACT" run -c "$T/named.ini" -a free2 -- curl "$HTTP_URL"
check_eq "-a free2 over [enact] agent: curls answered 200" 3 "$CURL_OK"
