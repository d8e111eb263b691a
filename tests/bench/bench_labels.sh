#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Expression labels on a labelled set of still portraits, through `hesp run` (the element chain
# with the CLI's defaults), in two forms:
#   still  each portrait on its own, as a one-frame video (the face's first result is all there is)
#   rise   per person, an 8-frame clip that rises from their neutral portrait to their expressive
#          one (2 neutral frames, a cross-dissolve over 4, 2 apex frames; label = the apex's), and
#          the same person's neutral portrait held for 8 frames (label neutral): what frame pooling
#          is judged on, since the plain mean lets a neutral onset outvote the apex
#
# Usage: bench_labels.sh FACES_DIR WORK_DIR [hesp run options ...]
#   FACES_DIR  holds labels.csv (file,label,...) and the images; people are told apart by the part
#              of the file name before the first '_' (the London set's layout)
#   WORK_DIR   made sequences and JSON results go here (reused when run again)
#   env HESP   the hesp binary (default: build/tools/hesp/hesp); FORMS="still rise" picks the forms
# Prints per form: right / total, results per (truth, label), portraits without any result.
set -euo pipefail

if [ $# -lt 2 ]; then
  sed -n '3,18p' "$0" >&2
  exit 2
fi
faces=$(cd "$1" && pwd)
work=$2
shift 2
hesp=${HESP:-build/tools/hesp/hesp}
forms=${FORMS:-still rise}
[ -f "$faces/labels.csv" ] || { echo "bench_labels.sh: no labels.csv in $faces" >&2; exit 1; }
[ -x "$hesp" ] || { echo "bench_labels.sh: no hesp binary at $hesp (set HESP)" >&2; exit 1; }
mkdir -p "$work"

# truth label of each file
declare -A label
while IFS=, read -r file lab _; do
  [ "$file" = file ] && continue
  label[$file]=$lab
done <"$faces/labels.csv"

# One frame: portrait a blended over portrait b with weight alpha of b, as JPEG.
blend() {  # A B ALPHA OUT
  gst-launch-1.0 -q compositor name=mix sink_1::alpha="$3" ! videoconvert ! jpegenc quality=95 ! \
    filesink location="$4" \
    filesrc location="$1" ! jpegdec ! videoconvert ! video/x-raw,format=AYUV ! \
    imagefreeze num-buffers=1 ! mix.sink_0 \
    filesrc location="$2" ! jpegdec ! videoconvert ! video/x-raw,format=AYUV ! \
    imagefreeze num-buffers=1 ! mix.sink_1 >/dev/null
}

# A frames directory 0.jpg .. 7.jpg as an MJPEG AVI at 25 fps.
to_avi() {  # DIR OUT
  gst-launch-1.0 -q multifilesrc location="$1/%d.jpg" index=0 \
    caps="image/jpeg,framerate=25/1" ! jpegparse ! avimux ! filesink location="$2" >/dev/null
}

cases=()  # "form|video|truth"
for form in $forms; do
  case $form in
    still)
      for file in "${!label[@]}"; do cases+=("still|$faces/$file|${label[$file]}"); done
      ;;
    rise)
      mkdir -p "$work/rise"
      for file in "${!label[@]}"; do
        [ "${label[$file]}" = neutral ] || continue
        person=${file%%_*}
        for other in "${!label[@]}"; do
          [ "${other%%_*}" = "$person" ] && [ "${label[$other]}" != neutral ] || continue
          seq="$work/rise/${person}_rise.avi" hold="$work/rise/${person}_hold.avi"
          if [ ! -f "$seq" ] || [ ! -f "$hold" ]; then
            frames=$(mktemp -d)
            i=0
            for alpha in 0 0 0.2 0.4 0.6 0.8 1 1; do
              blend "$faces/$file" "$faces/$other" "$alpha" "$frames/$i.jpg"
              i=$((i + 1))
            done
            to_avi "$frames" "$seq"
            for i in 1 2 3 4 5 6 7; do cp "$frames/0.jpg" "$frames/$i.jpg"; done
            to_avi "$frames" "$hold"
            rm -rf "$frames"
          fi
          cases+=("rise|$seq|${label[$other]}" "rise|$hold|neutral")
        done
      done
      ;;
    *) echo "bench_labels.sh: unknown form '$form' (still, rise)" >&2; exit 2 ;;
  esac
done

results="$work/results.tsv"
: >"$results"
for c in "${cases[@]}"; do
  IFS='|' read -r form video truth <<<"$c"
  out="$work/json/$form/$(basename "$video").jsonl"
  mkdir -p "$(dirname "$out")"
  "$hesp" run -q --no-video --json "$out" "$@" "$video" >/dev/null
  printf '%s\t%s\t%s\t%s\n' "$form" "$video" "$truth" "$out" >>"$results"
done

python3 - "$results" <<'PY'
import collections, json, sys
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1]) if l.strip()]
by_form = collections.defaultdict(list)
for form, video, truth, out in rows:
    # The label a viewer sees last: the last frame's first face that carries a result.
    last = None
    for line in open(out):
        for obj in json.loads(line).get('objects', []):
            if 'expression' in obj:
                last = obj['expression']['label']
                break
    by_form[form].append((truth, last))
for form, items in by_form.items():
    right = sum(t == l for t, l in items)
    none = sum(l is None for _, l in items)
    pairs = collections.Counter(f"{t}->{l}" for t, l in items)
    print(f"{form}: {right}/{len(items)} right ({100.0 * right / len(items):.1f} %), "
          f"{none} without a result; " + ", ".join(f"{k} {v}" for k, v in sorted(pairs.items())))
PY
