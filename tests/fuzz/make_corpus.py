#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the seed corpora of the fuzz harnesses (tests/fuzz/corpus/<harness>/): a handful of small
valid inputs and near misses of each format. Standard library only. Regression inputs for bugs the
fuzzers found are added next to these by hand (named regress-*), not by this script.

    python3 tests/fuzz/make_corpus.py
"""
import json
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"

MANIFEST = {
    "format_version": 1,
    "kind": "fer-cnn",
    "name": "tiny",
    "classes": ["Angry", "Happy", "Sad"],
    "architecture": {"channels": [4, 8]},
    "input": {"size": 8, "color": "gray"},
    "frames_per_clip": 1,
    "open_set": {"score": "max_logit", "unknown_threshold": 0.5},
    "provenance": {"source": "tests/fuzz/make_corpus.py"},
}


def write(harness, name, data):
    folder = CORPUS / harness
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    (folder / name).write_bytes(data)


def pack(tensors, metadata, header_extra=None, pad=True, length=None, data=None):
    """A safetensors file: tensors is a list of (name, dtype, shape, bytes)."""
    header = {"__metadata__": metadata} if metadata is not None else {}
    offset = 0
    blob = b""
    for name, dtype, shape, payload in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(payload)]}
        offset += len(payload)
        blob += payload
    if header_extra:
        header.update(header_extra)
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    n = len(text) if length is None else length
    return struct.pack("<Q", n) + text + (blob if data is None else data)


def model_pack():
    meta = {"hesp_manifest": json.dumps(MANIFEST)}
    w = struct.pack("<6f", 0.5, -1.0, 2.0, 0.0, 1.5, -0.25)
    b = struct.pack("<3f", 0.1, 0.2, 0.3)
    write("model_pack", "valid-two-tensors",
          pack([("fc.weight", "F32", [3, 2], w[:24]), ("fc.bias", "F32", [3], b)], meta))
    write("model_pack", "valid-mixed-dtypes",
          pack([("a", "F16", [2], b"\x00\x3c\x00\xc0"), ("b", "I64", [1], struct.pack("<q", 7)),
                ("c", "BOOL", [2, 1], b"\x01\x00"), ("d", "BF16", [0], b"")],
               dict(meta, note="extra metadata")))
    write("model_pack", "valid-no-tensors", pack([], meta))
    write("model_pack", "no-manifest", pack([("x", "U8", [2], b"ab")], {"other": "1"}))
    write("model_pack", "manifest-not-json", pack([], {"hesp_manifest": "{not json"}))
    write("model_pack", "manifest-missing-classes",
          pack([], {"hesp_manifest": json.dumps({k: v for k, v in MANIFEST.items()
                                                  if k != "classes"})}))
    write("model_pack", "overlapping",
          pack([("x", "U8", [2], b"ab")], meta,
               header_extra={"y": {"dtype": "U8", "shape": [2], "data_offsets": [1, 3]}},
               data=b"abc"))
    write("model_pack", "gap", pack([("x", "U8", [1], b"a")], meta, data=b"ab"))
    write("model_pack", "shape-mismatch",
          pack([], meta, header_extra={"x": {"dtype": "F32", "shape": [2],
                                             "data_offsets": [0, 4]}}, data=b"abcd"))
    write("model_pack", "unknown-dtype",
          pack([], meta, header_extra={"x": {"dtype": "Q8", "shape": [1],
                                             "data_offsets": [0, 1]}}, data=b"a"))
    write("model_pack", "huge-shape",
          pack([], meta, header_extra={"x": {"dtype": "F64", "shape": [2**62, 2**62],
                                             "data_offsets": [0, 0]}}, data=b""))
    write("model_pack", "length-past-end", pack([], meta, length=1 << 40))
    write("model_pack", "truncated", pack([("x", "U8", [4], b"abcd")], meta)[:-2])
    write("model_pack", "too-short", b"\x02\x00\x00")
    write("model_pack", "header-not-object", struct.pack("<Q", 2) + b"[]")


def model_manifest():
    write("model_manifest", "valid", json.dumps(MANIFEST))
    write("model_manifest", "valid-extra-fields",
          json.dumps(dict(MANIFEST, frames_per_clip=16, labels={"a": [1, 2.5, None, True]})))
    write("model_manifest", "newer-version", json.dumps(dict(MANIFEST, format_version=2)))
    write("model_manifest", "duplicate-class",
          json.dumps(dict(MANIFEST, classes=["Happy", "Happy"])))
    write("model_manifest", "threshold-string",
          json.dumps(dict(MANIFEST, open_set={"score": "energy", "unknown_threshold": "1"})))
    write("model_manifest", "input-size-zero", json.dumps(dict(MANIFEST, input={"size": 0})))
    write("model_manifest", "array", "[1, 2, 3]")


def predictions():
    doc = {
        "format": "hesp-predictions", "version": 1, "name": "seed", "classes": ["A", "B", "C"],
        "score_rule": "max_softmax",
        "known": [{"clip": "k0", "label": 0, "logits": [2.0, 0.5, -1.0]},
                  {"clip": "k1", "label": "B", "logits": [0.1, 0.7, 0.2]},
                  {"label": 2, "logits": [1e300, -1e300, 0]}],
        "unknown": [{"clip": "u0", "logits": [0.3, 0.3, 0.3]}],
    }
    write("predictions", "valid", json.dumps(doc, indent=1))
    given = {"classes": ["A", "B"],
             "known": [{"label": 1, "logits": [0, 1], "open_set_score": 0.9},
                       {"label": 0, "logits": [3, 1], "open_set_score": -2}],
             "unknown": [{"logits": [1, 1], "open_set_score": 0.1}]}
    write("predictions", "valid-given-scores", json.dumps(given))
    write("predictions", "valid-closed-set",
          json.dumps({"classes": ["A"], "known": [{"label": 0, "logits": [1]}]}))
    write("predictions", "only-unknown",
          json.dumps({"classes": ["A", "B"], "known": [],
                      "unknown": [{"logits": [0, 1]}]}))
    write("predictions", "some-scores-missing",
          json.dumps(dict(given, unknown=[{"logits": [1, 1]}])))
    write("predictions", "label-out-of-range",
          json.dumps({"classes": ["A"], "known": [{"label": 4, "logits": [1]}]}))
    write("predictions", "wrong-logit-count",
          json.dumps({"classes": ["A", "B"], "known": [{"label": 0, "logits": [1]}]}))
    write("predictions", "bad-rule", json.dumps(dict(doc, score_rule="median")))
    write("predictions", "newer-version", json.dumps(dict(doc, version=9)))
    write("predictions", "huge-number", '{"classes": ["A"], "known": [{"label": 0, '
                                        '"logits": [1e400]}]}')
    write("predictions", "syntax-error", '{"classes": ["A"], "known": [')


def annotations():
    write("annotations", "mafw-four-columns",
          "clips/00001.mp4 120 3 Happy\n"
          "clips/00002.mp4 64 5 Sad\n"
          "# a comment\n\n"
          "frames/00003 16 0 angry\n")
    write("annotations", "dfew-three-columns", "/data/dfew/1 32 1\r\n/data/dfew/2 40 6\r\n")
    write("annotations", "bad-lines",
          "a.mp4 0 1 Disgust\n"
          "b.mp4 12 -1 Fear\n"
          "c.mp4 12 99 Fear\n"
          "d.mp4 12\n"
          "e.mp4 3.0 1 Disgust\n"
          "f.mp4 12 2 Fear\n"
          "g.mp4 12 1 Happy\n"
          "missing.mp4 12 1 Disgust\n"
          "broken.mp4 12 1 Disgust\n"
          "h.mp4 99999999999999999999 1 Disgust\n")
    write("annotations", "class-file", "0 Angry\n1 Disgust\n3 Happy\n# gap at 2\n")
    write("annotations", "class-file-duplicate", "0 Angry\n0 Happy\n")
    write("annotations", "class-file-large-id", "9999 Last\n")


def tokenizer():
    texts = {
        "prompt": "a photo of a happy face.",
        "negation": "This video is not Angry.",
        "entities": "caf&eacute; &amp;amp; &#128512; &#x1F600; &notit; &#0; &#xD800;",
        "contractions": "it's we're they've I'm you'll he'd don't \u017fS",
        "specials": "<|startoftext|>hello<|endoftext|> world <|endoftext",
        "unicode": "Ångström naïve ﬁ ＡＢＣ 東京 ΣΑΣ İstanbul \u0301e\u0301 ١٢٣ ½",
        "whitespace": "  \t\n\u00a0\u3000 spaced\u2028out  ",
        "long-word": "x" * 300,
    }
    for name, text in texts.items():
        write("tokenizer", name, text)
    write("tokenizer", "invalid-utf8", b"\xff\xfe\xc0\xaf\xed\xa0\x80 caf\xc3 \xf4\x90\x80\x80")


if __name__ == "__main__":
    model_pack()
    model_manifest()
    predictions()
    annotations()
    tokenizer()
