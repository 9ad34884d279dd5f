#!/usr/bin/env bash
# The compiled policy (README "How a call flows"): the first governed
# process writes the config's image into the state folder; the next ones
# map it and never open the INI (strace); an edited INI is read again by
# the next process, whose limits are the new ones, and its image replaced;
# a damaged image, or one others may write, is passed over (the INI is
# read, the limits hold) and a good one written; eight processes starting
# at once with none leave one image and no temporary file.
. "$(dirname "$0")/lib.sh"
command -v strace >/dev/null || fail "strace is required"

export XDG_RUNTIME_DIR=$T/run
mkdir -m 0700 "$XDG_RUNTIME_DIR"
folder=$XDG_RUNTIME_DIR/enact
start_counting_listeners "$T/accepts" api
port=$LISTENER_PORTS

write_config() { # BURST
    cat >"$T/enact.ini" <<INI
[tool.api]
connect = 127.0.0.1:$port
rate.max_calls_per_minute = 0.001
rate.burst_size = $1
INI
}

# connects N: N connects from one governed python; prints how many got in.
connects() {
    ENACT_CONFIG="$T/enact.ini" LD_PRELOAD="$SHIM_PRELOAD" "$PY" -c "
import socket, sys
ok = 0
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    try:
        s.connect(('127.0.0.1', $port)); ok += 1
    except OSError:
        pass
    s.close()
print(ok)" "$1"
}

# opens: the files a governed /bin/true opens that are the INI or an image
# (the shim in /bin/true only: strace -E, not strace itself governed).
# opens [CONFIG]: the same for another spelling of the config's path.
opens() {
    strace -f -qq -e trace=openat -E ENACT_CONFIG="${1:-$T/enact.ini}" -E LD_PRELOAD="$SHIM_PRELOAD" \
        /bin/true 2>&1 | grep -oE '"[^"]*(enact\.ini|\.policy)"' | tr -d '"' | sort -u
}

reset_state() {
    rm -f "$folder"/*.state
}

write_config 2
check_eq "the first process: burst 2" 2 "$(connects 4)"
image=$(ls "$folder"/*.policy 2>/dev/null)
[ -n "$image" ] || fail "no image in $folder: $(ls -la "$folder")"
check_eq "the image's mode" 600 "$(stat -c %a "$image")"
check_eq "the next process opens the image, not the INI" "$image" "$(opens)"

# Edited: the next process reads the INI again, with its new limit.
reset_state
sleep 0.01
write_config 5
before=$(stat -c %Y.%i "$image")
check_eq "after an edit: burst 5" 5 "$(connects 7)"
[ "$(stat -c %Y.%i "$image")" != "$before" ] || fail "the image was not replaced after the edit"
check_eq "then the image again" "$image" "$(opens)"

# Damaged: passed over, the INI read, the limits right, a good image back.
reset_state
head -c 300 /dev/urandom >"$image"
check_eq "a damaged image: burst 5" 5 "$(connects 7)"
check_eq "a good image written again" "$image" "$(opens)"

# Another build (the same shim with another build ID) never reads this
# build's image: it reads the INI, and writes one of its own.
mkdir "$T/other"
"$PY" - "$SHIM" "$T/other/libenact_shim.so" <<'PY'
import subprocess, sys
src, dst = sys.argv[1], sys.argv[2]
data = bytearray(open(src, "rb").read())
out = subprocess.run(["readelf", "-n", src], capture_output=True, text=True).stdout
bid = bytes.fromhex(out.split("Build ID:")[1].split()[0])
at = data.find(bid)
assert at > 0 and data.find(bid, at + 1) < 0, "the build ID once in the file"
data[at] ^= 0xff
open(dst, "wb").write(data)
PY
other_preload=${SHIM_PRELOAD/$SHIM/$T/other/libenact_shim.so}
got=$(strace -f -qq -e trace=openat -E ENACT_CONFIG="$T/enact.ini" -E LD_PRELOAD="$other_preload" \
    /bin/true 2>&1 | grep -oE '"[^"]*(enact\.ini|\.policy)"' | tr -d '"' | sort -u)
grep -qx "$T/enact.ini" <<<"$got" || fail "another build used this build's image: $got"
grep -qx "$T/enact.ini" <<<"$(opens)" || fail "this build read the other build's image"
check_eq "then its own again" "$image" "$(opens)"

# The path as given names the image only when it is plain (no "." or ".."
# component, no doubled slash); any other spelling is resolved first and
# finds the same image.
mkdir -p "$T/sub"
for spelling in "$T/sub/../enact.ini" "$T/./enact.ini" "${T}//enact.ini"; do
    check_eq "the image for $spelling" "$image" "$(opens "$spelling")"
done
(cd "$T/sub" && check_eq "the image for ../enact.ini" "$image" "$(opens ../enact.ini)")
check_eq "still one image" 1 "$(ls "$folder"/*.policy | wc -l)"

# Others may write it: never used, and replaced by one of this user's.
chmod 0664 "$image"
got=$(opens)
grep -qx "$T/enact.ini" <<<"$got" || fail "an image others may write was used: $got"
check_eq "replaced by one only its owner may write" 600 "$(stat -c %a "$image")"

# Eight at once, no image yet: one image, no temporary file, limits held.
rm -f "$folder"/*.policy
reset_state
pids=()
for i in 1 2 3 4 5 6 7 8; do
    connects 1 >"$T/at-once.$i" &
    pids+=($!)
done
wait "${pids[@]}"
total=$(($(cat "$T"/at-once.* | paste -sd+)))
check_eq "eight processes at once: burst 5" 5 "$total"
check_eq "one image" 1 "$(ls "$folder"/*.policy | wc -l)"
check_eq "no temporary file" 0 "$(ls "$folder" | grep -c '\.tmp$' || true)"
