#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `hesp train probe` from the command line, on a tiny synthetic data set and the tiny random CLIP
# of the shared data: one result line and a JSON report that agree, the split's classes only,
# and one-line errors for a missing or non-CLIP --clip file, a split the classes file lacks and a
# test file without clips of the split's classes.
#   test_hesp_train_probe.sh HESP_EXECUTABLE CLIP_PT PYTHON3
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli_helpers.sh"
hesp="$1"
clip="$2"
python="$3"
require_files "no tiny CLIP checkpoint at $clip" "$clip"

"$hesp" synth -o "$tmp/data" --seed 4 --clips-per-class 6:4 --frames 8 --size 32 \
  --classes 3:Happy,5:Sad,6:Surprise,0:Angry --image-format png -q || fail "synth"
probe=(train probe --clip "$clip" --train "$tmp/data/train.txt" --test "$tmp/data/test.txt"
       --frames 4 --seed 1 --threads 1 -q)

# --- Every class, then the split's ----------------------------------------------------------------
if ! "$hesp" "${probe[@]}" --report "$tmp/all.json" >"$tmp/out" 2>"$tmp/err"; then
  fail "probe:"; cat "$tmp/err"
fi
grep -qE '^probe: train [0-9.]+% \(24 clips\), test [0-9.]+% \(16 clips\), 4 classes, chance 25\.0%, L2 penalty [0-9.e+-]+ \(cross-validated\)$' \
  "$tmp/out" || { fail "probe line:"; cat "$tmp/out"; }
[[ -s "$tmp/err" ]] && { fail "-q run wrote to stderr:"; cat "$tmp/err"; }
"$python" - "$tmp/all.json" "$tmp/out" <<'PY' || fail "report"
import json, re, sys
r = json.load(open(sys.argv[1]))
line = open(sys.argv[2]).read()
assert r["method"] == "linear_probe" and r["image_tower"] == "vit", r
assert r["train_clips"] == 24 and r["test_clips"] == 16 and len(r["classes"]) == 4, r
assert r["feature_dim"] == 64 and r["settings"]["frames"] == 4, r
# The penalty was chosen by cross-validation: the best held-out accuracy among the candidates.
sel = r["settings"]["weight_decay_selection"]
assert r["settings"]["weight_decay_chosen"] and len(sel) == 6, r["settings"]
best = max(c["cv_accuracy"] for c in sel)
first_best = min(c["weight_decay"] for c in sel if c["cv_accuracy"] == best)
assert r["settings"]["weight_decay"] >= first_best, sel
assert r["settings"]["weight_decay"] in [c["weight_decay"] for c in sel], sel
per = r["per_class_test"]
assert [c["class"] for c in per] == r["classes"] and sum(c["clips"] for c in per) == 16, per
assert abs(sum(c["correct"] for c in per) / 16 - r["test_accuracy"]) < 1e-12, r
shown = [float(x) for x in re.findall(r"([0-9.]+)%", line)]
assert abs(shown[0] - 100 * r["train_accuracy"]) < 0.051 and abs(shown[1] - 100 * r["test_accuracy"]) < 0.051, (shown, r)
PY
"$hesp" "${probe[@]}" --split mafw:Happy,Sad,Surprise >"$tmp/out" 2>"$tmp/err" ||
  { fail "probe with a split:"; cat "$tmp/err"; }
grep -qE '\(18 clips\), test .* \(12 clips\), 3 classes, chance 33\.3%, L2 penalty' "$tmp/out" ||
  { fail "probe line with a split:"; cat "$tmp/out"; }

# --- Bad input ------------------------------------------------------------------------------------
expect_failure "missing --clip file" "no-such.pt" \
  "$hesp" train probe --clip "$tmp/no-such.pt" --train "$tmp/data/train.txt" --test "$tmp/data/test.txt" -q
expect_failure "--clip not a CLIP checkpoint" "classes.txt" \
  "$hesp" train probe --clip "$tmp/data/classes.txt" --train "$tmp/data/train.txt" --test "$tmp/data/test.txt" -q
expect_failure "split of classes the data lacks" "names class id 2" \
  "$hesp" "${probe[@]}" --split mafw:Fear,Disgust
grep ' Happy$' "$tmp/data/test.txt" >"$tmp/data/happy.txt"
expect_failure "test file without the split's clips" "happy.txt' has no clips of the known classes" \
  "$hesp" train probe --clip "$clip" --train "$tmp/data/train.txt" --test "$tmp/data/happy.txt" \
  --classes "$tmp/data/classes.txt" --split mafw:Sad,Surprise -q

if [[ $failures -gt 0 ]]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
