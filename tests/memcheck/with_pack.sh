#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Makes a model pack of KIND from two inputs with `hesp convert` before valgrind starts (the
# conversion is not what the memory check is about), then runs the rest of the command line with
# every PLACEHOLDER in its arguments replaced by the pack's path, and exits with that command's
# status.
#   with_pack.sh KIND PLACEHOLDER HESP_EXECUTABLE INPUT INPUT COMMAND [ARG ...]
# KIND and its inputs:
#   ensemble       MEMBER_PACK MEMBER_PACK  an ensemble of the two member packs (`hesp convert
#                  ensemble`: its calibration runs both members on photos)
#   clip-zeroshot  CHECKPOINT VOCAB         a happy/sad/angry pack from an OpenAI-layout CLIP
#                  checkpoint, ViT or ResNet (`hesp convert openai-clip`: it encodes the prompts
#                  with the text tower)
# Exits 77 (skipped) when an input is missing.
set -euo pipefail
kind="$1"
placeholder="$2"
hesp="$3"
first="$4"
second="$5"
shift 5
case "$kind" in
  ensemble)
    source_note="a member pack: run scripts/setup.sh"
    convert=(convert ensemble "$first" "$second")
    ;;
  clip-zeroshot)
    source_note="the shared CLIP test data"
    convert=(convert openai-clip "$first" --vocab "$second" --classes "happy,sad,angry")
    ;;
  *)
    echo "with_pack.sh: unknown pack kind '$kind' (ensemble or clip-zeroshot)"
    exit 1
    ;;
esac
for input in "$first" "$second"; do
  if [ ! -f "$input" ]; then
    echo "skipped: '$input' is missing ($source_note)"
    exit 77
  fi
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
pack="$tmp/$kind.safetensors"
if ! "$hesp" "${convert[@]}" -o "$pack" >"$tmp/log" 2>&1; then
  cat "$tmp/log"
  echo "cannot make the $kind pack"
  exit 1
fi
args=()
for arg in "$@"; do args+=("${arg//"$placeholder"/"$pack"}"); done
"${args[@]}"
