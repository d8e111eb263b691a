#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `hesp convert openai-clip` and `hesp info` on the resulting clip-zeroshot pack, made from the
# tiny random-weight CLIP checkpoint in the shared test data; then `hesp run --model` with it on
# the face video when the cache has it. Bad inputs exit non-zero with one line naming the input.
#   test_hesp_zeroshot.sh HESP_EXECUTABLE
# Exits 77 (skipped) without the shared CLIP data.
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli_helpers.sh"
hesp="$1"
clip="${HESP_SHARED_DATA:-}/clip"
checkpoint="$clip/tiny-openai-format/clip_openai_format.pt"
vocab="$clip/bpe_simple_vocab_16e6.txt.gz"
require_files "$checkpoint or $vocab is missing" "$checkpoint" "$vocab"

pack="$tmp/tiny-expressions.safetensors"
if ! "$hesp" convert openai-clip "$checkpoint" --vocab "$vocab" --classes "happy,sad,angry" \
    -o "$pack" >"$tmp/convert.out" 2>"$tmp/convert.err"; then
  fail "convert:"; cat "$tmp/convert.err"
else
  grep -qF "3 classes" "$tmp/convert.out" || fail "convert output: $(cat "$tmp/convert.out")"
fi

if "$hesp" info "$pack" >"$tmp/info.out" 2>&1; then
  grep -qF "clip-zeroshot" "$tmp/info.out" || fail "info does not show the kind"
  grep -qF "happy, sad, angry" "$tmp/info.out" || fail "info does not list the classes"
  grep -qF "open set  max_logit" "$tmp/info.out" || fail "info does not show the score rule"
  grep -qF "64 px, 8 frames per clip" "$tmp/info.out" || fail "info does not show the input"
  echo "ok   info"
else
  fail "info:"; cat "$tmp/info.out"
fi
if "$hesp" info --json "$pack" >"$tmp/info.json" 2>&1; then
  grep -qF '"checkpoint_sha256"' "$tmp/info.json" || fail "info --json lacks the provenance"
else
  fail "info --json:"; cat "$tmp/info.json"
fi

printf 'happiness\tAn expression of contentment and pleasure.\n' >"$tmp/classes.tsv"
printf 'fear\ta fearful face\ta scared face\n' >>"$tmp/classes.tsv"
if "$hesp" convert openai-clip "$checkpoint" --vocab "$vocab" \
    --class-descriptions "$tmp/classes.tsv" -o "$tmp/described.safetensors" >"$tmp/out" 2>&1; then
  grep -qF "2 classes from 3 prompts" "$tmp/out" || fail "descriptions: $(cat "$tmp/out")"
else
  fail "descriptions:"; cat "$tmp/out"
fi

convert=("$hesp" convert openai-clip "$checkpoint" -o "$tmp/x.safetensors")
expect_failure missing-vocab "$tmp/nope.txt.gz" \
  "${convert[@]}" --vocab "$tmp/nope.txt.gz" --classes a
printf 'happy\tsmiling\nsad frowning\n' >"$tmp/bad.tsv"
expect_failure bad-line "$tmp/bad.tsv:2" \
  "${convert[@]}" --vocab "$vocab" --class-descriptions "$tmp/bad.tsv"
expect_failure no-classes "--classes" "${convert[@]}" --vocab "$vocab"

movie="${HESP_CACHE_DIR:-}/kphotoalbum/movie.avi"
if [ -f "$pack" ] && [ -f "$movie" ]; then
  if "$hesp" run -q --no-video --model "$pack" --json "$tmp/run.jsonl" "$movie" \
      2>"$tmp/run.err"; then
    grep -qE '"label":"(happy|sad|angry|unknown)"' "$tmp/run.jsonl" ||
      fail "run: no zero-shot labels in $(head -c 400 "$tmp/run.jsonl")"
    echo "ok   run --model"
  else
    fail "run:"; cat "$tmp/run.err"
  fi
fi

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all passed"
