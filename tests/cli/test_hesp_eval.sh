#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `hesp eval` on the checked-in prediction files: the report holds the hand-computed numbers (see
# tests/data/eval/README.md), the plots exist and are PNG files, and bad files fail with one line
# on stderr naming the file and the clip.
#   test_hesp_eval.sh HESP_EXECUTABLE DATA_DIR PYTHON3
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli_helpers.sh"
hesp="$1"
data="$2"
python="$3"

# --- A good run over two splits ------------------------------------------------------------------
if ! "$hesp" eval -p "$data/split1.json" "$data/split2.json" --report "$tmp/report.json" \
    --plots "$tmp/plots" >"$tmp/out" 2>"$tmp/err"; then
  fail "eval of the checked-in splits:"; cat "$tmp/err"
fi
cat "$tmp/out"
grep -qE '^split1 +5 +2 +max_logit +60\.00 +80\.00 +35\.00 +0\.00 +50\.00 +60\.00$' "$tmp/out" ||
  fail "table row of split1"
grep -qE '^mean of 2 runs +67\.50 +90\.00 +51\.88 ' "$tmp/out" || fail "table row of the mean"

# Report numbers, worked out by hand.
if ! "$python" - "$tmp/report.json" <<'EOF'; then
import json, math, sys
r = json.load(open(sys.argv[1]))
expected = {
    ("runs", 0, "acc"): 60.0, ("runs", 0, "auroc"): 80.0, ("runs", 0, "oscr"): 35.0,
    ("runs", 0, "tnr_at_tpr95"): 0.0, ("runs", 0, "uar"): 50.0, ("runs", 0, "war"): 60.0,
    ("runs", 1, "acc"): 75.0, ("runs", 1, "auroc"): 100.0, ("runs", 1, "oscr"): 68.75,
    ("runs", 1, "uar"): 250.0 / 3.0,
}
bad = 0
for (_, i, name), want in expected.items():
    got = r["runs"][i]["metrics"][name]
    if abs(got - want) > 1e-9:
        print(f"run {i} {name}: {got}, expected {want}"); bad += 1
summary = {"acc": (67.5, 15 / math.sqrt(2)), "auroc": (90.0, 20 / math.sqrt(2)),
           "oscr": (51.875, 33.75 / math.sqrt(2))}
for name, (mean, std) in summary.items():
    s = r["summary"][name]
    if abs(s["mean"] - mean) > 1e-9 or abs(s["std"] - std) > 1e-9 or s["runs"] != 2:
        print(f"summary {name}: {s}, expected mean {mean} std {std}"); bad += 1
if r["runs"][0]["confusion"]["counts"] != [[2, 0, 0], [1, 0, 0], [0, 1, 1], [1, 1, 0]]:
    print("confusion of split1:", r["runs"][0]["confusion"]["counts"]); bad += 1
if len(r["plots"]["confusion"]) != 2:
    print("plots:", r["plots"]); bad += 1
sys.exit(1 if bad else 0)
EOF
  fail "report numbers"
fi

for png in roc.png oscr.png confusion-1-split1.png confusion-2-split2.png; do
  if [ "$(head -c 8 "$tmp/plots/$png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" != \
       "89504e470d0a1a0a" ]; then
    fail "plot $png is missing or not a PNG file"
  fi
done

# --- Bad input: exit status non-zero, one line on stderr that names the file and the clip -------

cat >"$tmp/short.json" <<'EOF'
{"classes": ["a", "b", "c"],
 "known": [{"clip": "k0.mp4", "label": 0, "logits": [1, 2, 3]},
           {"clip": "k1.mp4", "label": 1, "logits": [1, 2]}]}
EOF
cat >"$tmp/range.json" <<'EOF'
{"classes": ["a", "b"], "known": [{"label": 0, "logits": [1, 2]}],
 "unknown": [{"logits": [1, 2]}, {"clip": "u1.mp4", "logits": [1, 2], "label": 0},
             {"clip": "u2.mp4", "logits": [1, "x"]}]}
EOF
cat >"$tmp/label.json" <<'EOF'
{"classes": ["a", "b"], "known": [{"label": 0, "logits": [1, 2]}, {"label": 2, "logits": [1, 2]}]}
EOF
cat >"$tmp/unknown-only.json" <<'EOF'
{"classes": ["a"], "known": [], "unknown": [{"logits": [1]}]}
EOF
printf '{"classes": ["a"],\n "known": [\n' >"$tmp/truncated.json"

ev=("$hesp" eval -q)
expect_failure missing-file "/nonexistent/preds.json" "${ev[@]}" -p /nonexistent/preds.json
expect_failure logits-length "$tmp/short.json: known[1] (clip 'k1.mp4'): 'logits' has 2 values" \
  "${ev[@]}" -p "$data/split1.json" "$tmp/short.json"
expect_failure logit-type "$tmp/range.json: unknown[2] (clip 'u2.mp4'): logits[1] is not a number" \
  "${ev[@]}" -p "$tmp/range.json"
expect_failure label-range "$tmp/label.json: known[1]: label 2 is out of range 0..1" \
  "${ev[@]}" -p "$tmp/label.json"
expect_failure truncated "$tmp/truncated.json: not valid JSON" "${ev[@]}" -p "$tmp/truncated.json"
expect_failure unknown-only "$tmp/unknown-only.json: cannot evaluate: no known test clips" \
  "${ev[@]}" -p "$tmp/unknown-only.json"
expect_failure given-without-scores "known[0] (clip 'k0'): missing 'open_set_score'" \
  "${ev[@]}" --score-rule given -p "$data/split1.json"
expect_failure bad-score-rule "unknown open-set score rule 'msp'" \
  "${ev[@]}" --score-rule msp -p "$data/split1.json"
expect_failure folder "$tmp" "${ev[@]}" -p "$tmp"
expect_failure no-predictions "--predictions" "${ev[@]}"

# --pack: an annotation line whose label text names another class than its id is an error (the
# data loader's label-text check), found before any model is loaded or clip decoded.
printf '0 Angry\n1 Disgust\n2 Fear\n3 Happy\n4 Neutral\n5 Sad\n6 Surprise\n' >"$tmp/classes.txt"
printf 'clip1.avi 20 3 Sad\nclip0.avi 20 5 sad\n' >"$tmp/test.txt"
expect_failure label-text "$tmp/test.txt:1: label text 'Sad' does not match class 3 (Happy)" \
  "${ev[@]}" --pack "$tmp/classes.txt" --data "$tmp/test.txt"

# No separation at all (every unknown clip scores above every known one): AUROC 0, printed as
# 0.00, never -0.00.
cat >"$tmp/reversed.json" <<'EOF2'
{"classes": ["a", "b"],
 "known": [{"label": 0, "logits": [1, 0], "open_set_score": 0.1},
           {"label": 1, "logits": [0, 1], "open_set_score": 0.2}],
 "unknown": [{"logits": [1, 0], "open_set_score": 0.8}, {"logits": [0, 1], "open_set_score": 0.9}]}
EOF2
if "$hesp" eval --score-rule given -p "$tmp/reversed.json" --report "$tmp/reversed-report.json" \
    >"$tmp/out" 2>"$tmp/err"; then
  grep -q -- '-0\.00' "$tmp/out" && fail "negative zero in the table: $(cat "$tmp/out")"
  grep -qE '^reversed +2 +2 +given +100\.00 +0\.00 ' "$tmp/out" ||
    fail "table row with AUROC 0.00: $(cat "$tmp/out")"
  grep -q -- '-0\.0' "$tmp/reversed-report.json" && fail "negative zero in the report"
  echo "ok   auroc-zero"
else
  fail "eval of reversed scores:"; cat "$tmp/err"
fi
exit $((failures > 0))
