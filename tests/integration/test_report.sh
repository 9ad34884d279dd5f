#!/usr/bin/env bash
# enact report --html: one self-contained page. A governed shell makes 210
# touches (rate: one admitted, 209 refused), a simulated rm (dry run) and
# failing /bin/false runs that open a breaker; a second agent (bot, with an
# [agent.bot] quota of its own) makes one touch and one rm. The page has:
# a legend of every kind of mark; each agent's own quota ([agent],
# [agent.NAME], also one that never ran); per tool the counts, with
# admitted read from the quota's count in the state (log_allowed is off,
# so the log has no allow record) or said not to be counted without a
# quota; an inline SVG timeline whose marks add up to the records, dense
# ones binned into one mark with its count (209 refusals on 200 bins: some
# share one, however fast the machine), each with a <title> naming its
# call; a time axis with local tick labels and the date; the tool quota
# per agent; inline CSS, and no external reference (no src, href, url(),
# @import or http). A second config with log_allowed = true shows its
# allow records as admitted marks.
. "$(dirname "$0")/lib.sh"

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[agent]
quota.max_actions = 50
[agent.bot]
quota.max_actions = 3
quota.window_hours = 1
[agent.idle]
quota.max_actions = 5
[tool.touch]
exec = touch
rate.max_calls_per_minute = 1
rate.burst_size = 1
quota.max_actions = 10
[tool.rm]
exec = rm
dry_run = true
[tool.false]
exec = /bin/false
breaker.failure_threshold = 2
INI
"$ENACT" run -c "$T/enact.ini" -- sh -c "for i in \$(seq 210); do touch $T/t\$i; done; \
    rm -rf $T/x; /bin/false; /bin/false; /bin/false; true" >/dev/null 2>&1
"$ENACT" run -c "$T/enact.ini" -a bot -- sh -c "touch $T/b; rm -rf $T/y" >/dev/null 2>&1
audit_check "$T/audit.jsonl" 213
[ -e "$T/b" ] || fail "bot's touch was not admitted"
out=$("$ENACT" report -c "$T/enact.ini" --html "$T/report.html")
check_eq "report output" "wrote $T/report.html" "$out"

cat >"$T/logged.ini" <<INI
[enact]
state = logged.state
audit_log = logged.jsonl
log_allowed = true
[tool.ls]
exec = ls
INI
"$ENACT" run -c "$T/logged.ini" -- sh -c "ls >/dev/null; ls >/dev/null" >/dev/null 2>&1
audit_check "$T/logged.jsonl" 2 verdict=allow
"$ENACT" report -c "$T/logged.ini" --html "$T/logged.html" >/dev/null

cat >"$T/page.py" <<'PY'
import html.parser, re, sys

class Page(html.parser.HTMLParser):
    """Per section: its title, count spans, table cells, and per SVG mark
    class the records it stands for (data-count), the marks' titles, and
    the texts by class (tick, date, count, note)."""
    def __init__(self):
        super().__init__()
        self.stack, self.sections, self.style, self.legend = [], [], False, []
        self.rect = None
    def section(self):
        return self.sections[-1] if self.sections else None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.stack.append((tag, a.get("class")))
        if tag == "style":
            self.style = True
        if tag == "section":
            self.sections.append({"title": "", "svg": 0, "records": {}, "marks": {},
                                  "titles": [], "texts": {}, "counts": "", "table": ""})
        s = self.section()
        if s is not None and tag == "svg":
            s["svg"] += 1
        if s is not None and tag == "rect":
            s["records"][a["class"]] = s["records"].get(a["class"], 0) + int(a["data-count"])
            s["marks"][a["class"]] = s["marks"].get(a["class"], 0) + 1
            self.rect = a["class"]
    def handle_endtag(self, tag):
        while self.stack and self.stack.pop()[0] != tag:
            pass
        if tag == "rect":
            self.rect = None
    def handle_data(self, data):
        tags = [t for t, _ in self.stack]
        if "li" in tags and any(c for t, c in self.stack if t == "span"):
            self.legend.append(data)
        s = self.section()
        if s is None or not self.stack:
            return
        tag, cls = self.stack[-1]
        if tag == "h2":
            s["title"] += data
        elif tag == "title" and self.rect:
            s["titles"].append((self.rect, data))
        elif tag == "text":
            s["texts"].setdefault(cls, []).append(data)
        elif "p" in tags and "span" in tags:
            s["counts"] += data + ";"
        elif "table" in tags and data.strip():
            s["table"] += data + ";"

def load(path):
    text = open(path, encoding="utf-8").read()
    assert text.startswith("<!DOCTYPE html>"), text[:40]
    for bad in ("src=", "href=", "url(", "@import", "http:", "https:", "<script", "<link"):
        assert bad not in text, f"external reference or script: {bad}"
    p = Page()
    p.feed(text)
    assert p.style, "no inline style"
    return p, {s["title"]: s for s in p.sections}
PY

"$PY" - "$T/report.html" "$T" <<'PY'
import re, sys
sys.path.insert(0, sys.argv[2])
from page import load
T = sys.argv[2]
p, by = load(sys.argv[1])
assert list(by) == ["Agents", "touch", "rm", "false"], list(by)
for words in ("admitted: the call went through", "refused (deny", "simulated (dry_run)", "breaker change"):
    assert any(words in item for item in p.legend), (words, p.legend)

# Agents: used / max and window of each one's own quota.
agents = by["Agents"]["table"]
for row in ("sh;[agent];3 of 50;24 h;", "bot;[agent.bot];1 of 3;1 h;",
            "idle;[agent.idle];0 of 5 (has not run);24 h;"):
    assert row in agents, (row, agents)

# Admitted from the quota's count in the state, not from allow records.
touch = by["touch"]
assert touch["counts"] == ("admitted: 2 in the last 24 h (the quota's count in the state); "
                           "0 in the audit log (log_allowed = false: allowed calls are not "
                           "recorded);refused: 209;"), touch["counts"]
assert by["rm"]["counts"].startswith("admitted: not counted without a quota"), by["rm"]["counts"]
assert by["rm"]["counts"].endswith(";refused: 0;simulated: 2;"), by["rm"]["counts"]
assert by["false"]["counts"].endswith(";refused: 1;breaker changes: 1;"), by["false"]["counts"]
assert touch["texts"]["note"] == ["allowed calls are not recorded (log_allowed = false)"], touch

# Every record is in one mark; dense ones share a mark that says how many.
assert touch["records"] == {"refused": 209}, touch["records"]
assert touch["marks"]["refused"] <= 200, touch["marks"]
assert by["rm"]["records"] == {"simulated": 2}, by["rm"]
assert by["false"]["records"] == {"breaker": 1, "refused": 1}, by["false"]
assert all(s["svg"] == 1 for s in p.sections[1:]), p.sections
labels = [int(n) for n in touch["texts"]["count"]]
assert labels and max(labels) > 1, touch["texts"]
binned = [t for c, t in touch["titles"] if re.match(r"\d+ refused from ", t)]
assert binned, touch["titles"]

# Titles: time, verdict and reason, the call.
stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}"
call = f"deny rate_limited: exec touch {T}/t2 (agent sh)"
assert any(call in t for _, t in touch["titles"]), touch["titles"]
assert all(re.match(stamp, t) or re.match(r"\d+ \w+ from " + stamp, t)
           for s in p.sections for _, t in s["titles"]), p.sections
assert any(f"dry_run: exec rm -rf {T}/x [HIGH] (agent sh)" in t
           for _, t in by["rm"]["titles"]), by["rm"]["titles"]
assert any(f"exec rm -rf {T}/y [HIGH] (agent bot)" in t
           for _, t in by["rm"]["titles"]), by["rm"]["titles"]
assert any("breaker CLOSED -> OPEN" in t for _, t in by["false"]["titles"]), by["false"]

# The axis: local tick labels, and the date once.
for s in p.sections[1:]:
    ticks = s["texts"]["tick"]
    assert len(ticks) >= 2 and all(re.fullmatch(r"\d\d:\d\d:\d\d(\.\d{3})?", t) for t in ticks), ticks
    assert len(s["texts"]["date"]) == 1, s["texts"]
    assert re.match(r"\d{4}-\d\d-\d\d, local time \(", s["texts"]["date"][0]), s["texts"]

# The tool quota per agent.
assert re.search(r"\bsh;1 of 10 in 24 h;bot;1 of 10 in 24 h;", touch["table"]), touch["table"]
PY

"$PY" - "$T/logged.html" "$T" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
from page import load
p, by = load(sys.argv[1])
ls = by["ls"]
assert ls["counts"] == ("admitted: not counted without a quota (the state counts admitted "
                        "calls only in quotas); 2 in the audit log;refused: 0;"), ls["counts"]
assert ls["records"] == {"admitted": 2}, ls["records"]
assert "note" not in ls["texts"], ls["texts"]
assert any("allow: exec ls (agent sh)" in t for _, t in ls["titles"]), ls["titles"]
PY
