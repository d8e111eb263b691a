#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Makes a clip-zeroshot pack from an OpenAI-layout CLIP checkpoint with `hesp convert openai-clip`
# (before valgrind starts: the conversion encodes the prompts with the text tower, which is not
# what the memory check is about), then runs the rest of the command line with every @CLIP_PACK@
# in its arguments replaced by the pack's path, and exits with that command's status.
#   with_clip_pack.sh HESP_EXECUTABLE CHECKPOINT VOCAB COMMAND [ARG ...]
# Exits 77 (skipped) when the checkpoint or the vocabulary is missing.
set -u
hesp="$1"
checkpoint="$2"
vocab="$3"
shift 3
for input in "$checkpoint" "$vocab"; do
  if [ ! -f "$input" ]; then
    echo "skipped: '$input' is missing (the shared CLIP test data)"
    exit 77
  fi
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
pack="$tmp/clip-zeroshot.safetensors"
if ! "$hesp" convert openai-clip "$checkpoint" --vocab "$vocab" --classes "happy,sad,angry" \
    -o "$pack" >"$tmp/log" 2>&1; then
  cat "$tmp/log"
  echo "cannot make the clip-zeroshot pack"
  exit 1
fi
args=()
for arg in "$@"; do args+=("${arg//@CLIP_PACK@/$pack}"); done
"${args[@]}"
