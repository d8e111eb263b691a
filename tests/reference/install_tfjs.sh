#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs the TensorFlow.js runtime that face-api.js runs on, so that
# tests/reference/faceapi_reference.js can run the expression network in its own runtime and the
# unit tests can compare the LibTorch port against it.
#
# Usage: install_tfjs.sh TARGET_DIR   (the tests look in $HESP_CACHE_DIR/npm/tfjs-reference)
#
# face-api's CommonJS build (dist/face-api.node-wasm.js) requires the wasm backend package even when
# the cpu backend is selected, hence three packages. Versions are pinned so the reference does not
# drift under the tests.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 TARGET_DIR" >&2
  exit 2
fi
target=$1

if ! command -v npm >/dev/null 2>&1; then
  echo "install_tfjs.sh: npm is not installed" >&2
  exit 1
fi

mkdir -p "$target"
# A package.json of its own keeps npm from walking up and installing into a parent project.
if [ ! -f "$target/package.json" ]; then
  printf '{ "name": "hesp-tfjs-reference", "private": true }\n' >"$target/package.json"
fi
npm install --prefix "$target" --no-audit --no-fund --loglevel=error \
  @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0 @vladmandic/face-api@1.7.15
echo "TensorFlow.js reference runtime installed in $target"
