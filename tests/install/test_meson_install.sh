#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `meson install` into a temporary DESTDIR, then use the result the way an application would:
# GStreamer finds hespinfer with only the plugin path set, a C++ program builds against hesp.pc
# and a C program against gsthespmeta-1.0.pc, and the installed hesp runs.
#   test_meson_install.sh BUILD PREFIX LIBDIR INCLUDEDIR DATADIR BINDIR gir|nogir
set -euo pipefail
build="$1" prefix="$2" libdir="$3" includedir="$4" datadir="$5" bindir="$6" gir="$7"
abs() { case "$1" in /*) echo "$1" ;; *) echo "$prefix/$1" ;; esac; }
libdir="$(abs "$libdir")" includedir="$(abs "$includedir")" datadir="$(abs "$datadir")"
bindir="$(abs "$bindir")"

dest="$(mktemp -d)"
trap 'rm -rf "$dest"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >"$dest/install.log" 2>&1 ||
  { cat "$dest/install.log"; fail "meson install"; }
root="$dest$prefix"
lib="$dest$libdir"

for f in "$lib/gstreamer-1.0/libgsthesp.so" \
         "$lib/libhesp.so" "$lib/libhesp.so.0" \
         "$lib/libgsthespmeta-1.0.so" "$lib/libgsthespmeta-1.0.so.0" \
         "$lib/pkgconfig/hesp.pc" "$lib/pkgconfig/gsthespmeta-1.0.pc" \
         "$dest$includedir/hesp/cache_dir.h" "$dest$includedir/hesp/expression_model.h" \
         "$dest$includedir/gstreamer-1.0/gst/hesp/gsthespclipmeta.h" \
         "$dest$includedir/gstreamer-1.0/gst/hesp/gsthespfaces.h" \
         "$dest$datadir/hesp/descriptions/mafw.tsv" "$dest$datadir/hesp/demo_faces.json" \
         "$dest$bindir/hesp"; do
  [ -e "$f" ] || fail "not installed: ${f#"$dest"}"
done
if [ "$gir" = gir ]; then
  [ -e "$lib/girepository-1.0/GstHespMeta-1.0.typelib" ] || fail "no typelib"
  [ -e "$dest$datadir/gir-1.0/GstHespMeta-1.0.gir" ] || fail "no gir"
fi
# Sonames: applications record libhesp.so.0, not the development symlink.
dynamic() { objdump -p "$1" 2>/dev/null | grep -E '^ *(SONAME|RPATH|RUNPATH) ' || true; }
dynamic "$lib/libhesp.so" | grep -qE 'SONAME +libhesp\.so\.0$' || fail "libhesp soname"
dynamic "$lib/libgsthespmeta-1.0.so" | grep -qE 'SONAME +libgsthespmeta-1\.0\.so\.0$' ||
  fail "libgsthespmeta soname"
# No RPATH may point into the build tree; outside /usr the tool's points at the install's libdir.
for f in "$lib/libhesp.so.0" "$lib/gstreamer-1.0/libgsthesp.so" "$dest$bindir/hesp"; do
  if dynamic "$f" | grep -qF "$build"; then fail "${f#"$dest"} has an RPATH into the build tree"; fi
done
if [ "$prefix" != /usr ]; then
  dynamic "$dest$bindir/hesp" | grep -qF "$libdir" || fail "installed hesp has no RPATH to $libdir"
fi

# The plugin from the install only: its own registry, the build tree's plugin path replaced.
# meson test points LD_LIBRARY_PATH at the build tree: replace it, not extend it.
export LD_LIBRARY_PATH="$lib"
inspect="$(GST_PLUGIN_PATH="$lib/gstreamer-1.0" GST_REGISTRY="$dest/registry.bin" \
  timeout 120 gst-inspect-1.0 hespinfer 2>&1)" ||
  { echo "$inspect"; fail "gst-inspect-1.0 hespinfer"; }
grep -qF "$lib/gstreamer-1.0/libgsthesp.so" <<<"$inspect" ||
  { echo "$inspect" | head -n 20; fail "hespinfer was not loaded from the install"; }
echo "ok: gst-inspect-1.0 hespinfer from ${lib#"$dest"}/gstreamer-1.0"

# pkg-config against the installed .pc files, their prefix moved into DESTDIR (the way a relocated
# install is used; a sysroot would move the system's GStreamer paths too).
mkdir "$dest/pc"
for pc in hesp gsthespmeta-1.0; do
  grep -q "^prefix=$prefix\$" "$lib/pkgconfig/$pc.pc" || fail "$pc.pc: prefix is not $prefix"
  sed "s|^prefix=.*|prefix=$root|" "$lib/pkgconfig/$pc.pc" >"$dest/pc/$pc.pc"
done
export PKG_CONFIG_PATH="$dest/pc${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
cat >"$dest/use_hesp.cpp" <<'CPP'
#include <hesp/cache_dir.h>
#include <iostream>
int main() { std::cout << "cache " << hesp::cache_dir() << "\n"; }
CPP
# shellcheck disable=SC2046  # pkg-config's output is a word list on purpose
c++ -o "$dest/use_hesp" "$dest/use_hesp.cpp" $(pkg-config --cflags --libs hesp) ||
  fail "compiling against hesp.pc"
HESP_CACHE_DIR=/some/cache "$dest/use_hesp" | grep -qx 'cache /some/cache' || fail "use_hesp output"
cat >"$dest/use_meta.c" <<'C'
#include <gst/hesp/gsthespfaces.h>
#include <stdio.h>
int main(void) {
  gst_init(NULL, NULL);
  GstBuffer *buffer = gst_buffer_new();
  GPtrArray *faces = gst_hesp_buffer_get_faces(buffer);
  printf("faces %u clips %u\n", faces->len, gst_hesp_buffer_get_n_clips(buffer));
  g_ptr_array_unref(faces);
  gst_buffer_unref(buffer);
  return 0;
}
C
# shellcheck disable=SC2046
cc -o "$dest/use_meta" "$dest/use_meta.c" $(pkg-config --cflags --libs gsthespmeta-1.0) ||
  fail "compiling against gsthespmeta-1.0.pc"
"$dest/use_meta" | grep -qx 'faces 0 clips 0' || fail "use_meta output"
echo "ok: programs built with pkg-config hesp and gsthespmeta-1.0"

"$dest$bindir/hesp" --version | grep -q '^0\.\|hesp' || fail "installed hesp --version"
echo "ok: installed hesp runs"
