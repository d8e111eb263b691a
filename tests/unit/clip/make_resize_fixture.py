#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the resampling fixture for preprocess_test.cpp: a small RGB image and what Pillow's
bicubic resize (the filter CLIP's reference preprocessing uses) makes of it at a few sizes.

    /usr/bin/python3 tests/unit/clip/make_resize_fixture.py tests/unit/clip/data

Needs Pillow. Files are raw packed RGB bytes, named WIDTHxHEIGHT.rgb; input.rgb is 37x23.
"""

import pathlib
import sys

from PIL import Image

WIDTH, HEIGHT = 37, 23
SIZES = [(64, 64), (11, 7), (50, 13), (37, 9)]  # up, down, mixed, vertical only


def pixels():
    # A gradient with a deterministic pseudo-random texture (a 32-bit LCG), so both smooth areas
    # and sharp edges are exercised without depending on any library's random generator.
    state = 12345
    out = bytearray()
    for y in range(HEIGHT):
        for x in range(WIDTH):
            for c in range(3):
                state = (state * 1103515245 + 12345) & 0xFFFFFFFF
                noise = (state >> 16) & 0x3F
                base = (x * 255 // (WIDTH - 1) + y * 97 + c * 60) % 192
                out.append(min(255, base + noise))
    return bytes(out)


def main():
    folder = pathlib.Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    data = pixels()
    (folder / "input.rgb").write_bytes(data)
    image = Image.frombytes("RGB", (WIDTH, HEIGHT), data)
    for w, h in SIZES:
        (folder / f"{w}x{h}.rgb").write_bytes(image.resize((w, h), Image.BICUBIC).tobytes())


if __name__ == "__main__":
    main()
