#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The whole open-set chain on data this project draws itself (docs/training.md):
#   1. two synthetic data sets: a captioned pre-training corpus and an OV-FER benchmark (MAFW ids)
#   2. a small CLIP trained from scratch on the corpus's captions (the EmoCLIP objective)
#   3. for each MAFW openness level (3, 5, 6, 8 known classes, published list 0): zero-shot CLIP,
#      the MSP baseline (CoOp prompts, max softmax probability), HESP-released and HESP-paper
#      trained on the known classes, all scored on the benchmark's test clips (known + unknown)
#   4. a results table (markdown + JSON), and the 8-known HESP-paper pack run in a GStreamer
#      pipeline on a synthetic video.
# Usage: scripts/synthetic_chain.sh [OUT_DIR]   (default: $HESP_CACHE_DIR/chain)
# Needs the CLIP vocabulary: HESP_CLIP_VOCAB, else ../shared/data/clip/ beside the checkout.
# HESP_CHAIN_SCALE=full trains longer on more clips (docs/training.md gives both sizes' numbers).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${HESP_CACHE_DIR:-$HOME/.cache/hesp}"
out="${1:-$cache/chain}"
hesp="${HESP_BIN:-$here/build/tools/hesp/hesp}"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

vocab="${HESP_CLIP_VOCAB:-}"
if [[ -z "$vocab" ]]; then
  for candidate in "$here/../shared/data/clip/bpe_simple_vocab_16e6.txt.gz" \
                   "$cache/clip/bpe_simple_vocab_16e6.txt.gz"; do
    [[ -f "$candidate" ]] && vocab="$candidate" && break
  done
fi
if [[ -z "$vocab" || ! -f "$vocab" ]]; then
  echo "synthetic_chain: CLIP's bpe_simple_vocab_16e6.txt.gz not found; set HESP_CLIP_VOCAB" >&2
  exit 1
fi
[[ -x "$hesp" ]] || { echo "synthetic_chain: $hesp not built (run scripts/setup.sh)" >&2; exit 1; }

# Sizes. "small" is what CI runs; "full" is the documented longer run.
scale="${HESP_CHAIN_SCALE:-small}"
case "$scale" in
  small) pre_clips=100; bench_clips=40:20; pre_epochs=15; hesp_epochs=20 ;;
  full)  pre_clips=300; bench_clips=80:40; pre_epochs=30; hesp_epochs=40 ;;
  *) echo "synthetic_chain: HESP_CHAIN_SCALE must be small or full" >&2; exit 1 ;;
esac
geometry="image=64,patch=16,width=128,layers=2,text-width=128,text-layers=2,embed=64"
seed=7

mkdir -p "$out"
step() { printf '\n== %s\n' "$*" >&2; }

step "1. synthetic data"
# Face-aligned clips as MAFW and DFEW ship them; captions that describe only the face, so the
# small CLIP cannot match captions to clips by hair colour or wallpaper (docs/training.md).
"$hesp" synth -o "$out/pretrain" --seed 101 --clips-per-class "$pre_clips" --frames 16 --size 64 \
  --face-crop --face-captions --image-format png --overwrite -q
"$hesp" synth -o "$out/ovfer" --seed 202 --clips-per-class "$bench_clips" --frames 16 --size 64 \
  --face-crop --face-captions --image-format png --overwrite -q

step "2. CLIP from scratch on the captions (EmoCLIP objective)"
"$hesp" train emoclip --train "$out/pretrain/train.txt" --vocab "$vocab" \
  --descriptions "$here/data/descriptions/mafw.tsv" --geometry "$geometry" \
  --epochs "$pre_epochs" --batch-size 32 --seed "$seed" --val-fraction 0.1 \
  -o "$out/clip.safetensors" --report "$out/clip.report.json"

step "2b. EmoCLIP zero-shot, closed set: all 11 classes known (UAR / WAR)"
"$hesp" eval --pack "$out/clip.safetensors" --data "$out/ovfer/test.txt" \
  --report "$out/zeroshot-closed.eval.json" 2>/dev/null | tail -n 1

step "3. open-set runs over the four MAFW openness levels"
for known in 3 5 6 8; do
  split="mafw:$known:0"
  eval_args=(--data "$out/ovfer/test.txt" --split "$split" -q)
  "$hesp" eval --pack "$out/clip.safetensors" "${eval_args[@]}" \
    --save-predictions "$out/zeroshot-$known.json"
  # coop = the MSP baseline (learned text context, CLIP cross-entropy, max softmax probability).
  for variant in coop released paper; do
    "$hesp" train hesp --variant "$variant" --clip "$out/clip.safetensors" --vocab "$vocab" \
      --train "$out/ovfer/train.txt" --split "$split" --epochs "$hesp_epochs" --batch-size 16 \
      --seed "$seed" -o "$out/hesp-$variant-$known.safetensors" \
      --report "$out/hesp-$variant-$known.report.json" -q
    "$hesp" eval --pack "$out/hesp-$variant-$known.safetensors" "${eval_args[@]}" \
      --save-predictions "$out/hesp-$variant-$known.json"
  done
  cp "$out/hesp-coop-$known.json" "$out/msp-$known.json"
done

step "4. results"
for method in zeroshot msp hesp-released hesp-paper; do
  "$hesp" eval -p "$out/$method-3.json" "$out/$method-5.json" "$out/$method-6.json" \
    "$out/$method-8.json" --report "$out/$method.eval.json" -q
done
python3 "$here/scripts/chain_table.py" "$out" | tee "$out/results.md"

step "5. the 8-known HESP-paper pack in a pipeline on a synthetic video"
"$hesp" synth -o "$out/video" --seed 303 --clips-per-class 1:0 --frames 48 --size 256 \
  --format mp4 --classes Happy,Surprise --overwrite -q
"$hesp" run "$out/video/clips/train/Happy/0000.mp4" --model "$out/hesp-paper-8.safetensors" \
  -o "$out/video-annotated.mp4" --json "$out/video-results.jsonl" -q
echo "pipeline: $(grep -c '"expression"' "$out/video-results.jsonl" || true) of" \
  "$(wc -l < "$out/video-results.jsonl") frames carry an expression label" \
  "($out/video-annotated.mp4)"
