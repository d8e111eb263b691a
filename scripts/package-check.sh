#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds the Debian packages from a copy of this tree, installs them, checks them with an empty
# environment, and removes them again (so that the installed plugin never shadows the build
# tree's in later test runs on this machine). Run after scripts/setup.sh and scripts/test.sh: the
# package build reuses the main build's objects through ccache (debian/rules) and the checks use
# the default pack and demo video the setup step made.
#
#   scripts/package-check.sh
#
# Environment: HESP_CACHE_DIR as for setup.sh; HESP_KEEP_PACKAGES=1 leaves the packages installed
# and prints where the .deb files are.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
default_cache="${XDG_CACHE_HOME:-$HOME/.cache}/hesp"
cache="${HESP_CACHE_DIR:-$default_cache}"
packages=(gstreamer1.0-hesp libhesp0 libgsthespmeta-1.0-0 gir1.2-gsthespmeta-1.0 libhesp-dev hesp)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

work="$(mktemp -d)"
installed=0
cleanup() {
  rc=$?
  if [ "$installed" = 1 ] && [ "${HESP_KEEP_PACKAGES:-0}" != 1 ]; then
    echo "==> removing the packages"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "${packages[@]}" >/dev/null ||
      rc=1
  fi
  if [ "${HESP_KEEP_PACKAGES:-0}" = 1 ]; then echo "packages kept in $work"; else rm -rf "$work"; fi
  [ $rc -eq 0 ] || echo "package check failed (exit $rc)" >&2
  exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for f in "$cache/models/faceapi-expression.safetensors" "$cache/demo/demo.mp4"; do
  [ -s "$f" ] || fail "$f missing: run scripts/setup.sh first"
done

echo "==> copying the source tree (dpkg-buildpackage writes next to it)"
src="$work/hesp"
mkdir "$src"
# Tracked and new files, as a clone would have them; no build folders.
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$repo" && git ls-files -z -co --exclude-standard) |
    (cd "$repo" && tar --null --ignore-failed-read -T - -cf -) | tar -xf - -C "$src"
else
  tar -C "$repo" --exclude=./build --exclude=./build-deb --exclude=./subprojects/packagecache \
    -cf - . | tar -xf - -C "$src"
fi

echo "==> dpkg-buildpackage -b"
start=$(date +%s)
(cd "$src" &&
  DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -b -uc -us \
    >"$work/build.log" 2>&1) ||
  { tail -n 40 "$work/build.log"; fail "dpkg-buildpackage"; }
echo "package build took $(( $(date +%s) - start )) s"
ls "$work"/*.deb

echo "==> installing"
installed=1
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "$work"/*.deb >"$work/install.log" 2>&1 ||
  { tail -n 30 "$work/install.log"; fail "apt-get install"; }

# The checks run with nothing set but PATH and HOME: no plugin path, no library path, no cache
# folder (unless the setup step used a cache folder other than the default one).
clean_env=(env -i PATH=/usr/bin:/bin HOME="$HOME")
[ "$cache" = "$default_cache" ] || clean_env+=(HESP_CACHE_DIR="$cache")
[ -z "${XDG_CACHE_HOME:-}" ] || clean_env+=(XDG_CACHE_HOME="$XDG_CACHE_HOME")

echo "==> gst-inspect-1.0 hespinfer"
multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH)"
inspect="$("${clean_env[@]}" timeout 120 gst-inspect-1.0 hespinfer 2>&1)" ||
  { echo "$inspect"; fail "gst-inspect-1.0 hespinfer"; }
# /lib is /usr/lib on merged-/usr systems; GStreamer may name either.
grep -qE "Filename +(/usr)?/lib/$multiarch/gstreamer-1\.0/libgsthesp\.so$" <<<"$inspect" ||
  { echo "$inspect" | head -n 20; fail "hespinfer is not the installed plugin"; }
echo "ok: hespinfer from /usr/lib/$multiarch/gstreamer-1.0"

echo "==> hesp run (the demo video)"
[ "$(command -v hesp)" = /usr/bin/hesp ] || fail "hesp is not /usr/bin/hesp"
mkdir "$work/run"
(cd "$work/run" && "${clean_env[@]}" timeout 900 hesp run --quiet) || fail "hesp run"
[ -s "$work/run/annotated.mp4" ] || fail "hesp run wrote no annotated.mp4"
grep -q '"expression"' "$work/run/results.jsonl" || fail "no expression in results.jsonl"
echo "ok: hesp run: $(wc -l <"$work/run/results.jsonl") frames," \
  "annotated.mp4 $(stat -c %s "$work/run/annotated.mp4") bytes"

echo "==> Python example with the installed typelib"
if "${clean_env[@]}" /usr/bin/python3 -c 'import gi' 2>/dev/null; then
  "${clean_env[@]}" timeout 300 /usr/bin/python3 "$repo/docs/examples/print_expressions.py" \
    --max-frames 30 >"$work/example.log" || { tail -n 20 "$work/example.log"; fail "example"; }
  grep -qE '^face .* expression=[a-z]+ ' "$work/example.log" || fail "example printed no expression"
  grep -qE '^clip .* pixels=\(' "$work/example.log" || fail "example printed no clip"
  echo "ok: $(grep -c '^face ' "$work/example.log") faces," \
    "$(grep -c '^clip ' "$work/example.log") clips"
else
  echo "skipped: no PyGObject in /usr/bin/python3"
fi
echo "package check passed"
