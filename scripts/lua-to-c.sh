#!/bin/sh
# Writes a Lua script as a C header for the store to send to Redis
# (shim/store/redis_limits_lua.h from redis_limits.lua; the Makefile makes
# it again whenever the script changes): REDIS_LIMITS_LUA, the script
# without its comment lines, and REDIS_LIMITS_SHA1, its digest, which
# EVALSHA names (the same SHA-1 the server computes).
set -eu
body=$(mktemp)
trap 'rm -f "$body"' EXIT
grep -v '^[[:space:]]*--' "$1" | grep -v '^[[:space:]]*$' >"$body"
echo "/* Made by scripts/lua-to-c.sh from $(basename "$1"): edit that file. */"
echo "#define REDIS_LIMITS_SHA1 \"$(sha1sum "$body" | cut -c1-40)\""
echo "#define REDIS_LIMITS_LUA \\"
sed 's/\\/\\\\/g; s/"/\\"/g; s/^/    "/; s/$/\\n" \\/' "$body"
echo '    ""'
