#!/usr/bin/env bash
# enact report --html: one self-contained page. A
# governed shell makes refused touches (rate), simulated rm (dry run) and
# failing /bin/false runs that open a breaker; the page has a section per
# tool with the counts of each kind, an inline SVG timeline with one mark
# per record (breaker changes included), the quota use read from the state,
# inline CSS, and no external reference of any kind (no src, href, url(),
# @import or http).
. "$(dirname "$0")/lib.sh"

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
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
"$ENACT" run -c "$T/enact.ini" -- sh -c "touch $T/a; touch $T/b; touch $T/c; rm -rf $T/x; \
    /bin/false; /bin/false; /bin/false; true" >/dev/null 2>&1
audit_check "$T/audit.jsonl" 5
out=$("$ENACT" report -c "$T/enact.ini" --html "$T/report.html")
check_eq "report output" "wrote $T/report.html" "$out"
"$PY" - "$T/report.html" <<'PY'
import html.parser, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
assert text.startswith("<!DOCTYPE html>"), text[:40]
for bad in ("src=", "href=", "url(", "@import", "http:", "https:", "<script", "<link"):
    assert bad not in text, f"external reference or script: {bad}"

class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.sections, self.style = [], [], False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.stack.append(tag)
        if tag == "style":
            self.style = True
        if tag == "section":
            self.sections.append({"title": "", "svg": 0, "rects": {}, "counts": "", "table": ""})
        s = self.sections[-1] if self.sections else None
        if s is not None and tag == "svg":
            s["svg"] += 1
        if s is not None and tag == "rect":
            s["rects"][a["class"]] = s["rects"].get(a["class"], 0) + 1
    def handle_endtag(self, tag):
        while self.stack and self.stack.pop() != tag:
            pass
    def handle_data(self, data):
        if not self.sections:
            return
        s = self.sections[-1]
        if self.stack and self.stack[-1] == "h2":
            s["title"] += data
        elif "p" in self.stack and "span" in self.stack:
            s["counts"] += data + ";"
        elif "table" in self.stack:
            s["table"] += data + ";"

p = Page()
p.feed(text)
assert p.style, "no inline style"
by = {s["title"]: s for s in p.sections}
assert list(by) == ["touch", "rm", "false"], list(by)
assert by["touch"]["counts"] == "admitted: 0;refused: 2;simulated: 0;breaker: 0;", by["touch"]
assert by["touch"]["rects"] == {"refused": 2}, by["touch"]
assert by["rm"]["rects"] == {"simulated": 1}, by["rm"]
assert by["false"]["rects"] == {"breaker": 1, "refused": 1}, by["false"]
assert all(s["svg"] == 1 for s in p.sections), p.sections
assert re.search(r"\bsh;1 of 10 in 24 h;", by["touch"]["table"]), by["touch"]["table"]
PY
