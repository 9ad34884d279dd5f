#!/usr/bin/env bash
# enact report --html as a browser shows it: Debian's headless Chromium
# renders the page of real governed calls and dumps its DOM.
# - an agent (bot) makes three connects to a rate-limited api (one admitted,
#   two refused), one request to a dry-run web tool, and, two seconds later,
#   221 touches of a rate-limited tool: one admitted and a burst of 220
#   refusals, more than the timeline's 200 bins, so some share a mark
# - the screenshot is a PNG of the window's size that is not blank: many
#   colours, a good share of non-white pixels, the timelines' background
#   and the refused marks' red (decoded here with zlib, no imaging library)
# - the DOM has the time axis (local tick labels, the date), the legend,
#   <title>s naming the calls (the touch's argv, the api's target, the
#   request line a dry run would have sent), a mark with its count, and
#   the agent's own quota
# Chromium is never governed: no shim, nor the ASan runtime of make asan.
. "$(dirname "$0")/lib.sh"

CHROMIUM=$(command -v chromium) || fail "chromium is not installed (make deps installs it)"

start_counting_listeners "$T/accepted.log" api
API_PORT=$LISTENER_PORTS
WEB_PORT=$(free_port)
cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[agent]
quota.max_actions = 1000
quota.window_hours = 2
[tool.touch]
exec = touch
rate.max_calls_per_minute = 1
rate.burst_size = 1
quota.max_actions = 500
[tool.api]
connect = 127.0.0.1:$API_PORT
rate.max_calls_per_minute = 1
rate.burst_size = 1
[tool.web]
connect = 127.0.0.1:$WEB_PORT
dry_run = true
dry_run.response = HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n
INI

cat >"$T/client.py" <<'PY'
import socket, sys
api, web = int(sys.argv[1]), int(sys.argv[2])
for _ in range(3):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", api))
    except PermissionError:
        pass
    s.close()
s = socket.create_connection(("127.0.0.1", web), timeout=10)
s.sendall(b"GET /report-test HTTP/1.1\r\nHost: web\r\n\r\n")
s.recv(100)
s.close()
PY
"$ENACT" run -c "$T/enact.ini" -a bot -- "$PY" "$T/client.py" "$API_PORT" "$WEB_PORT" ||
    fail "the governed client failed"
sleep 2
"$ENACT" run -c "$T/enact.ini" -a bot -- sh -c \
    "for i in \$(seq 221); do touch $T/t\$i; done 2>/dev/null; true" >/dev/null 2>&1
audit_check "$T/audit.jsonl" 223 agent=bot
"$ENACT" report -c "$T/enact.ini" --html "$T/report.html" >/dev/null

# Hermetic and bounded: its own profile and home, at most a minute each.
chromium() {
    env -u LD_PRELOAD HOME="$T/home" timeout 60 "$CHROMIUM" --headless --no-sandbox \
        --disable-gpu --disable-dev-shm-usage --user-data-dir="$T/profile" "$@" \
        "file://$T/report.html" 2>>"$T/chromium.err"
}
mkdir -p "$T/home"
chromium --screenshot="$T/shot.png" --window-size=1200,2000 >/dev/null ||
    fail "chromium could not take the screenshot: $(tail -5 "$T/chromium.err")"
chromium --dump-dom >"$T/dom.html" ||
    fail "chromium could not dump the DOM: $(tail -5 "$T/chromium.err")"

"$PY" - "$T/shot.png" <<'PY'
import os, struct, sys, zlib
from collections import Counter
path = sys.argv[1]
assert os.path.getsize(path) > 20000, f"{path}: {os.path.getsize(path)} bytes"
data = open(path, "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, hdr = 8, b"", None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    if kind == b"IHDR":
        hdr = struct.unpack(">IIBBBBB", data[pos + 8:pos + 8 + n])
    elif kind == b"IDAT":
        idat += data[pos + 8:pos + 8 + n]
    pos += 12 + n
w, h, depth, ctype, _, _, interlace = hdr
assert (w, h) == (1200, 2000), hdr
assert depth == 8 and ctype in (2, 6) and interlace == 0, f"unexpected PNG format {hdr}"
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
colours, prev = Counter(), bytearray(stride)
for y in range(h):  # undo each row's filter (PNG spec, section 9)
    at = y * (stride + 1)
    f, line = raw[at], bytearray(raw[at + 1:at + 1 + stride])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1:
            line[i] = (line[i] + a) & 255
        elif f == 2:
            line[i] = (line[i] + b) & 255
        elif f == 3:
            line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    colours.update(bytes(line[x:x + 3]) for x in range(0, stride, bpp))
    prev = line
inked = 1 - colours[b"\xff\xff\xff"] / (w * h)
assert len(colours) > 50, f"only {len(colours)} colours: a blank page?"
assert inked > 0.05, f"only {inked:.1%} of the pixels are not white"
background, red = colours[bytes.fromhex("fafafa")], colours[bytes.fromhex("c62828")]
assert background > 50000, f"{background} pixels of the timelines' background"
assert red > 300, f"{red} pixels of the refused marks' red (the legend's swatch alone: 144)"
print(f"# screenshot: {len(colours)} colours, {inked:.1%} inked, {red} red pixels")
PY

"$PY" - "$T/dom.html" "$T" "$API_PORT" <<'PY'
import html, re, sys
dom, T, api = open(sys.argv[1], encoding="utf-8").read(), sys.argv[2], sys.argv[3]
def texts(cls):
    return [html.unescape(t) for t in re.findall(r'<text class="%s"[^>]*>([^<]*)</text>' % cls, dom)]
assert dom.count("<svg class=\"timeline\"") == 3, "a timeline per tool"

ticks = texts("tick")
assert len(ticks) >= 6, ticks
assert all(re.fullmatch(r"\d\d:\d\d:\d\d(\.\d{3})?", t) for t in ticks), ticks
dates = texts("date")
assert len(dates) == 3 and re.match(r"\d{4}-\d\d-\d\d, local time \(", dates[0]), dates

legend = re.search(r'<div class="legend">(.*?)</div>', dom, re.S)
assert legend, "no legend"
for words in ("admitted: the call went through", "refused (deny", "simulated (dry_run)",
              "breaker change"):
    assert words in legend.group(1), (words, legend.group(1))

titles = [html.unescape(t) for t in re.findall(r"<title>([^<]*)</title>", dom)]
stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} "
for call in (f"deny rate_limited: exec touch {T}/t2 (agent bot)",
             f"deny rate_limited: connect 127.0.0.1:{api} (agent bot)",
             "dry_run: connect GET /report-test HTTP/1.1  Host: web"):
    assert any(call in t for t in titles), (call, titles[:5])
assert any(re.match(stamp + r"simulated: dry_run: connect GET /report-test", t)
           for t in titles), titles

binned = [int(n) for n in re.findall(r'<rect class="refused"[^>]*data-count="(\d+)"', dom)]
assert sum(binned) == 222 and len(binned) < 222, binned
assert max(binned) > 1 and str(max(binned)) in texts("count"), (binned, texts("count"))
assert any(re.match(r"%d refused from " % max(binned) + stamp, t) for t in titles), titles

agent = re.search(r"<tr><td>bot</td><td>\[agent\]</td><td>(\d+) of 1000</td><td>2 h</td></tr>", dom)
assert agent and agent.group(1) == "2", "the agent's own quota: " + str(agent)
assert "admitted: 1 in the last 24 h (the quota's count in the state)" in dom, "touch admitted"
print(f"# dom: {len(ticks)} ticks, {len(titles)} titles, the densest mark {max(binned)}")
PY
