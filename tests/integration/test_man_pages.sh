#!/usr/bin/env bash
# The man pages: enact(1) and enact.ini(5) render
# with man -l without a warning, name every command and every key, and
# make install puts them under PREFIX/share/man (and the bash completion
# under PREFIX/share/bash-completion, the shim under PREFIX/lib/enact, where
# the installed enact run finds it).
. "$(dirname "$0")/lib.sh"

command -v man >/dev/null || fail "man (man-db) is required"
for page in enact.1 enact.ini.5; do
    out=$(MANWIDTH=80 man --warnings=w -l "$ROOT/man/$page" 2>"$T/warn")
    [ ! -s "$T/warn" ] || fail "$page: warnings: $(cat "$T/warn")"
    [ "$(wc -l <<<"$out")" -gt 50 ] || fail "$page rendered almost nothing"
done
out=$(MANWIDTH=80 man -l "$ROOT/man/enact.1" 2>/dev/null)
for cmd in run check match status metrics reset doctor log dry-run report watch ps kill resume \
    pending approve deny; do
    grep -q "enact $cmd" <<<"$out" || fail "enact(1) does not describe 'enact $cmd'"
done
out=$(MANWIDTH=200 man -l "$ROOT/man/enact.ini.5" 2>/dev/null)
for key in agent state audit_log mode dry_run on_error log_allowed static_binaries strict \
    connect exec rate.max_calls_per_minute rate.burst_size quota.max_actions \
    quota.window_hours breaker.failure_threshold breaker.success_threshold \
    breaker.timeout_seconds timeout_seconds io_timeout_seconds retry.max_attempts \
    retry.initial_delay retry.max_delay retry.exponential_base retry.jitter \
    retry.on_exit_nonzero action on_limit max_wait errno dry_run.response dry_run.exit_code \
    kill_scope quota.warn_remaining approve approve.timeout_seconds approve.on_timeout \
    approve.command; do
    grep -q -- "$key" <<<"$out" || fail "enact.ini(5) does not describe '$key'"
done
make -s -C "$ROOT" install PREFIX="$T/prefix" >/dev/null
[ -f "$T/prefix/share/man/man1/enact.1" ] && [ -f "$T/prefix/share/man/man5/enact.ini.5" ] ||
    fail "make install did not install the man pages"
[ -f "$T/prefix/share/bash-completion/completions/enact" ] ||
    fail "make install did not install the bash completion"
printf '[tool.t]\nexec = true\n' >"$T/t.ini"
"$T/prefix/bin/enact" run -c "$T/t.ini" -- true 2>"$T/run.err" ||
    fail "the installed enact run failed: $(cat "$T/run.err")"
