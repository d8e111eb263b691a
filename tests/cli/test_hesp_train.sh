#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `hesp train` and `hesp eval --pack` from the command line, on a tiny synthetic data set and a
# tiny CLIP trained here from scratch: the packs they write run in `hesp eval` and `hesp info`, a
# resumed run ends where an uninterrupted one does, and bad input stops with one line naming the
# file and line — or, with --skip-bad, is skipped and counted, never silently.
#   test_hesp_train.sh HESP_EXECUTABLE VOCAB DESCRIPTIONS
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli_helpers.sh"
hesp="$1"
vocab="$2"
descriptions="$3"
require_files "no CLIP vocabulary at $vocab" "$vocab"
expect_error() {  # expect_error NAME PATTERN -- command...
  local name="$1" pattern="$2"
  shift 3
  if "$@" >"$tmp/out" 2>"$tmp/err"; then
    fail "$name: exit status 0"
  elif [[ $(wc -l <"$tmp/err") -ne 1 ]] || ! grep -qE "$pattern" "$tmp/err"; then
    fail "$name: stderr does not match '$pattern':"; cat "$tmp/err"
  fi
}

"$hesp" synth -o "$tmp/data" --seed 4 --clips-per-class 6:4 --frames 8 --size 32 \
  --classes 3:Happy,5:Sad,6:Surprise,0:Angry --image-format png -q || fail "synth"
geometry="image=32,patch=16,width=64,layers=1,text-width=64,text-layers=1,embed=32,context=40"
emo=(train emoclip --train "$tmp/data/train.txt" --vocab "$vocab" --descriptions "$descriptions"
     --geometry "$geometry" --batch-size 8 --frames 4 --seed 1 --threads 1 -q)

# --- EmoCLIP from scratch, uninterrupted and resumed ---------------------------------------------
"$hesp" "${emo[@]}" --epochs 2 -o "$tmp/clip.safetensors" --report "$tmp/clip.json" ||
  fail "emoclip training"
grep -q '"epochs_done": 2' "$tmp/clip.json" || fail "emoclip report: $(cat "$tmp/clip.json")"
"$hesp" info "$tmp/clip.safetensors" | grep -q "emoclip" || fail "hesp info of the emoclip pack"

# --- HESP on three known classes, then scored on known + unknown test clips ----------------------
hesp_args=(train hesp --clip "$tmp/clip.safetensors" --vocab "$vocab" --train "$tmp/data/train.txt"
           --split mafw:Happy,Sad,Surprise --frames 4 --batch-size 8 --seed 2 --threads 1 -q)
"$hesp" "${hesp_args[@]}" --epochs 3 -o "$tmp/hesp.safetensors" || fail "hesp training"
"$hesp" "${hesp_args[@]}" --epochs 3 --variant released -o "$tmp/released.safetensors" ||
  fail "hesp training, released variant"
"$hesp" info "$tmp/hesp.safetensors" | grep -q "hesp" || fail "hesp info of the hesp pack"
if ! "$hesp" eval --pack "$tmp/hesp.safetensors" --data "$tmp/data/test.txt" \
    --split mafw:Happy,Sad,Surprise --save-predictions "$tmp/pred.json" \
    --report "$tmp/eval.json" -q 2>"$tmp/err"; then
  fail "eval --pack:"; cat "$tmp/err"
fi
grep -q '"num_known": 12' "$tmp/eval.json" || fail "eval: 12 known test clips expected"
grep -q '"num_unknown": 4' "$tmp/eval.json" || fail "eval: 4 unknown test clips expected"
# The saved predictions score the same as the pack did.
"$hesp" eval -p "$tmp/pred.json" --report "$tmp/eval2.json" -q || fail "eval of saved predictions"
cmp -s <(grep -A7 '"metrics"' "$tmp/eval.json") <(grep -A7 '"metrics"' "$tmp/eval2.json") ||
  fail "saved predictions score differently"

# Same seed, same model; and stopped after one epoch, then resumed: still the same model. (The
# packs' manifests hold timings, so the models are compared by what they predict.)
predict() {
  "$hesp" eval --pack "$1" --data "$tmp/data/test.txt" --split mafw:Happy,Sad,Surprise \
    --save-predictions "$2" -q 2>/dev/null
}
"$hesp" "${hesp_args[@]}" --epochs 3 -o "$tmp/again.safetensors" || fail "hesp training again"
predict "$tmp/again.safetensors" "$tmp/again.json" || fail "eval of the second pack"
cmp -s <(grep -v '"name"' "$tmp/pred.json") <(grep -v '"name"' "$tmp/again.json") ||
  fail "same seed, different predictions"
"$hesp" "${hesp_args[@]}" --epochs 3 --stop-after 1 -o "$tmp/resumed.safetensors" ||
  fail "hesp training, first epoch"
[[ -e "$tmp/resumed.safetensors" ]] && fail "a stopped run wrote a pack"
"$hesp" "${hesp_args[@]}" --epochs 3 --resume -o "$tmp/resumed.safetensors" || fail "resuming"
predict "$tmp/resumed.safetensors" "$tmp/resumed.json" || fail "eval of the resumed pack"
cmp -s <(grep -v '"name"' "$tmp/pred.json") <(grep -v '"name"' "$tmp/resumed.json") ||
  fail "resumed run, different predictions"

# --- Bad input -----------------------------------------------------------------------------------
bad="$tmp/data/bad.txt"
cp "$tmp/data/train.txt" "$bad"
echo "clips/train/Happy/9999 8 3 Happy" >>"$bad"
bad_line=$(wc -l <"$bad")
expect_error "missing clip folder" "bad\.txt:$bad_line: .*9999" -- \
  "$hesp" train hesp --clip "$tmp/clip.safetensors" --vocab "$vocab" --train "$bad" \
  --classes "$tmp/data/classes.txt" --epochs 1 -o "$tmp/x.safetensors" -q
printf 'clips/train/Happy/0000 8\n' >"$tmp/data/cols.txt"
expect_error "wrong column count" "cols\.txt:1: " -- \
  "$hesp" train hesp --clip "$tmp/clip.safetensors" --vocab "$vocab" --train "$tmp/data/cols.txt" --epochs 1 -o "$tmp/x.safetensors" -q
printf 'clips/train/Happy/0000 8 9 Helplessness\n' >"$tmp/data/label.txt"
expect_error "label outside the class list" "label\.txt:1: " -- \
  "$hesp" train hesp --clip "$tmp/clip.safetensors" --vocab "$vocab" --train "$tmp/data/label.txt" --epochs 1 -o "$tmp/x.safetensors" -q
mkdir -p "$tmp/data/clips/empty"
cp "$tmp/data/train.txt" "$tmp/data/empty.txt"
echo "clips/empty 8 3 Happy" >>"$tmp/data/empty.txt"
expect_error "empty frame folder" "empty\.txt:$bad_line: " -- \
  "$hesp" train hesp --clip "$tmp/clip.safetensors" --vocab "$vocab" --train "$tmp/data/empty.txt" \
  --epochs 1 -o "$tmp/x.safetensors" -q
expect_error "resume without a state file" "state" -- \
  "$hesp" "${hesp_args[@]}" --epochs 2 --resume --state "$tmp/none.state" -o "$tmp/x.safetensors"
expect_error "missing CLIP weights" "no-such\.pt" -- \
  "$hesp" train hesp --clip "$tmp/no-such.pt" --vocab "$vocab" --train "$tmp/data/train.txt" \
  -o "$tmp/x.safetensors" -q
[[ -e "$tmp/x.safetensors" ]] && fail "a failed run left a pack behind"

# --skip-bad: training goes on and says what it skipped and why.
if ! "$hesp" train hesp --clip "$tmp/clip.safetensors" --vocab "$vocab" --train "$bad" \
    --classes "$tmp/data/classes.txt" --split mafw:Happy,Sad --skip-bad --epochs 1 --frames 4 \
    --batch-size 8 --threads 1 -o "$tmp/skip.safetensors" -q 2>"$tmp/err"; then
  fail "--skip-bad run:"; cat "$tmp/err"
fi
grep -qE "skipped 1 of [0-9]+ items: 1 missing path" "$tmp/err" ||
  { fail "--skip-bad does not say what it skipped:"; cat "$tmp/err"; }

if [[ $failures -gt 0 ]]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
