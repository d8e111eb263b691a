#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes a random-weight CLIP with ViT-B/32 geometry, laid out like OpenAI's released .pt files
(TorchScript archive, same tensor names, fp16/fp32 split), for benchmarks. Never commit the
output: it is ~300 MB of noise. Needs PyTorch (Debian: python3-torch).

    python3 tests/bench/make_vit_b32_checkpoint.py build/tests/bench/clip_vit_b32_random.pt
"""

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_clip_model import CLIP, stored_in_fp16  # noqa: E402


def make(path, seed=0):
    torch.manual_seed(seed)
    model = CLIP().eval()  # ViT-B/32: 224 px, patch 32, width 768 x 12; text 512 x 12; embed 512
    image = torch.zeros(1, 3, 224, 224)
    text = torch.zeros(1, 77, dtype=torch.long)
    text[0, :3] = torch.tensor([49406, 320, 49407])
    with torch.no_grad():
        traced = torch.jit.trace(model, (image, text), check_trace=False)
        # The traced graph is never run from the file (readers use it as a weight container),
        # so converting the stored tensors after tracing is enough.
        for name, p in traced.named_parameters():
            if stored_in_fp16(name):
                p.data = p.data.half()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    traced.save(tmp)
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="where to write the .pt file")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    make(args.output, args.seed)
    print(args.output)


if __name__ == "__main__":
    main()
