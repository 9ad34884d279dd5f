#!/usr/bin/env bash
# make valgrind: the CLI under valgrind memcheck, on every config of the
# corpus (`enact check`) and on each command (scripts/cli-commands.sh). A
# memory error or a definite leak fails (valgrind's exit status 99).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
command -v valgrind >/dev/null || { echo "valgrind: not installed (apt-get install valgrind)" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/enact-valgrind.XXXXXX")
trap 'rm -rf "$T"' EXIT
cat >"$T/enact" <<SH
#!/bin/sh
exec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \\
    --show-leak-kinds=definite "$ROOT/build/enact" "\$@"
SH
chmod +x "$T/enact"
ENACT=$T/enact "$ROOT/scripts/run-config-tests.sh"
ENACT_BIN=$T/enact "$ROOT/scripts/cli-commands.sh"
