#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The whole open-set chain on data this project draws itself (docs/training.md):
#   1. two synthetic data sets: a captioned pre-training corpus and an OV-FER benchmark (MAFW ids)
#   2. a small CLIP (ResNet image tower) trained from scratch on the corpus's captions with CLIP's
#      own objective, frame by frame (clip embedding = mean of its frames' embeddings), so the
#      image space every method below compares with text is the one aligned with it; then
#      EmoCLIP's temporal transformer on that frozen CLIP, and a linear probe of the frozen tower
#   3. for each seed and each MAFW openness level (3, 5, 6, 8 known classes, published list 0):
#      zero-shot CLIP, EmoCLIP zero-shot, the MSP baseline (CoOp prompts, max softmax
#      probability), HESP-released and HESP-paper (with ablations: also HESP-paper without its
#      visual prompt, δ off), all scored on the benchmark's test clips (known + unknown)
#   4. a results table (markdown + JSON; per level the mean ± std over the seeds), and the
#      8-known HESP-paper pack run in a GStreamer pipeline on a synthetic video.
# Usage: scripts/synthetic_chain.sh [OUT_DIR]   (default: $HESP_CACHE_DIR/chain)
# Needs the CLIP vocabulary: HESP_CLIP_VOCAB, else ../shared/data/clip/ beside the checkout.
# HESP_CHAIN_SCALE=full trains longer on more clips (docs/training.md gives both sizes' numbers).
# HESP_CHAIN_SEEDS=N runs step 3 N times: seed i draws its own benchmark clips (data seed
# 202 + i) and trains with seed 7 + i, which also draws the selection split.
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

seeds="${HESP_CHAIN_SEEDS:-1}"
[[ "$seeds" =~ ^[1-9][0-9]?$ ]] || { echo "synthetic_chain: HESP_CHAIN_SEEDS must be 1 to 99" >&2; exit 1; }

# Sizes. "small" is what CI runs; "full" is the documented longer run. HESP_CHAIN_ABLATIONS=1
# adds the δ-off row to the small run (the full run always has it).
scale="${HESP_CHAIN_SCALE:-small}"
case "$scale" in
  small) pre_clips=500; video_clips=60; bench_clips=40:20; pre_epochs=10; hesp_epochs=7
         ablations="${HESP_CHAIN_ABLATIONS:-0}" ;;
  full)  pre_clips=1000; video_clips=150; bench_clips=80:40; pre_epochs=20; hesp_epochs=30
         ablations=1 ;;
  *) echo "synthetic_chain: HESP_CHAIN_SCALE must be small or full" >&2; exit 1 ;;
esac
variants=(coop released paper)
methods=(zeroshot emoclip msp hesp-released hesp-paper)
if [[ "$ablations" == 1 ]]; then
  variants+=(nodelta)
  methods+=(hesp-nodelta)
fi
# A small ResNet tower (one bottleneck per stage, 16 wide): convolutions learn expression
# features from a few thousand 64 px faces where a ViT of the same cost memorises the captions.
geometry="resnet=1-1-1-1,image=64,width=16,text-width=128,text-layers=2,embed=64"
# Mild crops: at 64 px the eyes and brows are a few pixels, and the default 8 % crops cut them off.
crop=0.5

mkdir -p "$out"
step() { printf '\n== %s\n' "$*" >&2; }

step "1. synthetic data"
# Face-aligned clips as MAFW and DFEW ship them; captions that describe only the face, so the
# small CLIP cannot match captions to clips by hair colour or wallpaper (docs/training.md).
# The CLIP corpus holds apex frames (clips of 2 frames show only the apex), many distinct faces
# per class; the EmoCLIP corpus holds whole clips (onset, apex, offset) for the temporal model.
"$hesp" synth -o "$out/pretrain" --seed 101 --clips-per-class "$pre_clips" --frames 2 --size 64 \
  --face-crop --face-captions --image-format png --overwrite -q
"$hesp" synth -o "$out/pretrain-video" --seed 102 --clips-per-class "$video_clips" --frames 16 \
  --size 64 --face-crop --face-captions --image-format png --overwrite -q
for ((i = 0; i < seeds; i++)); do
  bench="$out/ovfer"
  ((i > 0)) && bench="$out/ovfer-s$i"
  "$hesp" synth -o "$bench" --seed $((202 + i)) --clips-per-class "$bench_clips" --frames 16 \
    --size 64 --face-crop --face-captions --image-format png --overwrite -q
done

step "2. CLIP from scratch on the captions (CLIP's objective, one apex frame per clip)"
"$hesp" train emoclip --objective frames --train "$out/pretrain/train.txt" --vocab "$vocab" \
  --descriptions "$here/data/descriptions/mafw.tsv" --geometry "$geometry" --frames 1 \
  --crop-min-area "$crop" --epochs "$pre_epochs" --batch-size 64 --seed 7 --val-fraction 0.1 \
  -o "$out/clip.safetensors" --report "$out/clip.report.json"

step "2b. EmoCLIP: the temporal transformer on the frozen CLIP"
"$hesp" train emoclip --init "$out/clip.safetensors" --train "$out/pretrain-video/train.txt" \
  --vocab "$vocab" --descriptions "$here/data/descriptions/mafw.tsv" --frames 8 \
  --crop-min-area "$crop" --epochs 5 --batch-size 32 --seed 7 --val-fraction 0.1 \
  -o "$out/emoclip.safetensors" --report "$out/emoclip.report.json"

step "2c. what the frozen tower knows: linear probe on the benchmark (11 classes)"
"$hesp" train probe --clip "$out/clip.safetensors" --train "$out/ovfer/train.txt" \
  --test "$out/ovfer/test.txt" --frames 8 --seed 7 --report "$out/probe.json" -q

step "2d. zero-shot, closed set: all 11 classes known (UAR / WAR)"
for pack in clip emoclip; do
  "$hesp" eval --pack "$out/$pack.safetensors" --data "$out/ovfer/test.txt" \
    --report "$out/$pack-closed.eval.json" 2>/dev/null | tail -n 1
done

step "3. open-set runs: $seeds seed(s) x the four MAFW openness levels"
for ((i = 0; i < seeds; i++)); do
  bench="$out/ovfer"
  ((i > 0)) && bench="$out/ovfer-s$i"
  for known in 3 5 6 8; do
    split="mafw:$known:0"
    tag="$known-s$i"
    eval_args=(--data "$bench/test.txt" --split "$split" -q)
    "$hesp" eval --pack "$out/clip.safetensors" "${eval_args[@]}" \
      --save-predictions "$out/zeroshot-$tag.json"
    "$hesp" eval --pack "$out/emoclip.safetensors" "${eval_args[@]}" \
      --save-predictions "$out/emoclip-$tag.json"
    # coop = the MSP baseline (learned text context, CLIP cross-entropy, max softmax
    # probability); nodelta = HESP-paper with no visual prompt (the ablation of δ).
    for variant in "${variants[@]}"; do
      extra=(--variant "$variant")
      [[ "$variant" == nodelta ]] && extra=(--variant paper --no-visual-prompt)
      "$hesp" train hesp "${extra[@]}" --clip "$out/clip.safetensors" --vocab "$vocab" \
        --train "$bench/train.txt" --split "$split" --epochs "$hesp_epochs" --batch-size 16 \
        --crop-min-area "$crop" --seed $((7 + i)) -o "$out/hesp-$variant-$tag.safetensors" \
        --report "$out/hesp-$variant-$tag.report.json" -q
      "$hesp" eval --pack "$out/hesp-$variant-$tag.safetensors" "${eval_args[@]}" \
        --save-predictions "$out/hesp-$variant-$tag.json"
    done
    cp "$out/hesp-coop-$tag.json" "$out/msp-$tag.json"
  done
done

step "4. results"
# Level-major: all seeds of the 3-known level first, then 5, 6, 8 (chain_table.py relies on it).
for method in "${methods[@]}"; do
  files=()
  for known in 3 5 6 8; do
    for ((i = 0; i < seeds; i++)); do files+=("$out/$method-$known-s$i.json"); done
  done
  "$hesp" eval -p "${files[@]}" --report "$out/$method.eval.json" -q
done
python3 "$here/scripts/chain_table.py" "$out" | tee "$out/results.md"

step "5. the 8-known HESP-paper pack in a pipeline on a synthetic video"
"$hesp" synth -o "$out/video" --seed 303 --clips-per-class 1:0 --frames 48 --size 256 \
  --format mp4 --classes Happy,Surprise --overwrite -q
"$hesp" run "$out/video/clips/train/Happy/0000.mp4" --model "$out/hesp-paper-8-s0.safetensors" \
  -o "$out/video-annotated.mp4" --json "$out/video-results.jsonl" -q
echo "pipeline: $(grep -c '"expression"' "$out/video-results.jsonl" || true) of" \
  "$(wc -l < "$out/video-results.jsonl") frames carry an expression label" \
  "($out/video-annotated.mp4)"
