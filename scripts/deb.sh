#!/usr/bin/env bash
# scripts/deb.sh (make deb): builds the Debian package with Debian's tools,
# dpkg-buildpackage -us -uc -b on debian/, into build/deb/, and prints the
# .deb's path (build/deb/enact_VERSION_ARCH.deb) as its last line.
#
# The package is built from a copy of the tree in build/deb/src, not in the
# tree itself: dpkg-buildpackage starts with debian/rules clean, whose make
# clean removes build/ (the developer's build, and the copy with it), and
# writes its results to the parent directory of the source, outside the
# tree. The copy holds the files git knows of as they are on disk (edits not
# committed yet, new files not ignored: what a fresh clone would hold plus
# the work under way), without build/ and what .gitignore leaves out; outside
# a git checkout, the tree without build/ and .git.
# dpkg-buildpackage's output goes to build/deb/build.log (its end is shown
# when it fails).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/build/deb
src=$out/src
for tool in dpkg-buildpackage dh fakeroot; do
    command -v "$tool" >/dev/null ||
        { echo "deb: $tool is missing (scripts/deps.sh deb installs it)" >&2; exit 2; }
done

rm -rf "$src" "$out"/enact_* "$out"/enact-dbgsym_*
mkdir -p "$src"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$root" && git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do
            case $f in build/*) continue ;; esac
            # a file deleted but not yet committed is not copied
            if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
        done | tar --null -T - -cf -) | tar -xf - -C "$src"
else
    tar -C "$root" --exclude=./build --exclude=./.git -cf - . | tar -xf - -C "$src"
fi

version=$(cd "$src" && dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=$out/enact_${version}_${arch}.deb
echo "deb: dpkg-buildpackage -us -uc -b in $src (log: $out/build.log)"
if ! (cd "$src" && dpkg-buildpackage -us -uc -b -J"$(nproc)") >"$out/build.log" 2>&1; then
    tail -n 40 "$out/build.log" >&2
    echo "deb: dpkg-buildpackage failed (the whole log: $out/build.log)" >&2
    exit 1
fi
[ -f "$deb" ] || { echo "deb: dpkg-buildpackage made no $deb" >&2; exit 1; }
echo "$deb"
