#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""CLIP image-encoder throughput: hesp's C++ encoder against PyTorch eager on the same weights and
thread count, in one run. Makes the random ViT-B/32 checkpoint when it is missing, times the
eager model (before and after the C++ run, best kept, since other load on the machine only ever
slows a run down), runs the Google Benchmark program, checks that both agree on the embeddings,
and prints a table plus a JSON report.

    /usr/bin/python3 tests/bench/bench_clip.py --build-dir build

Needs PyTorch (Debian: python3-torch) and a build with benchmarks (bench_clip, hesp).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

try:
    import torch
except ImportError:
    sys.exit("bench_clip.py needs PyTorch; run it with an interpreter that has it "
             "(on Debian: apt install python3-torch, then /usr/bin/python3)")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_clip_model import CLIP  # noqa: E402
from make_vit_b32_checkpoint import make  # noqa: E402

VARIANTS = {0: "C++ fp32 (oneDNN)", 1: "C++ fp32 (at::linear)", 2: "C++ bf16 (oneDNN)"}


def eager_model(checkpoint):
    state = torch.jit.load(checkpoint, map_location="cpu").state_dict()
    model = CLIP().eval()
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model


def time_eager(model, batch, min_time=3.0, rounds=3):
    """Best images/s over `rounds` rounds of at least `min_time` seconds each."""
    x = torch.randn(batch, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    best = 0.0
    with torch.inference_mode():
        model.encode_image(x)  # warm-up
        for _ in range(rounds):
            n = 0
            start = time.perf_counter()
            while True:
                model.encode_image(x)
                n += 1
                elapsed = time.perf_counter() - start
                if elapsed >= min_time:
                    break
            best = max(best, n * batch / elapsed)
    return best


def run_cpp(bench, checkpoint, threads, repetitions):
    env = dict(os.environ, HESP_BENCH_CLIP_CHECKPOINT=checkpoint, HESP_BENCH_THREADS=str(threads))
    out = subprocess.run([bench, "--benchmark_format=json",
                          f"--benchmark_repetitions={repetitions}"],
                         env=env, check=True, capture_output=True, text=True).stdout
    runs = [b for b in json.loads(out)["benchmarks"] if b.get("run_type") == "iteration"]
    best = {}
    for b in runs:
        name = b["run_name"]
        if b.get("error_occurred"):
            best[name] = {"error": b.get("error_message", "")}
            continue
        keep = best.get(name)
        if keep is None or "error" in keep or b["real_time"] < keep["real_time"]:
            best[name] = b
    return best


def agreement(hesp_exe, checkpoint, model, threads):
    """Max |difference| and worst cosine between hesp embed and eager on 4 random images."""
    x = torch.randn(4, 3, 224, 224, generator=torch.Generator().manual_seed(7))
    with torch.inference_mode():
        want = model.encode_image(x)
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "input.f32")
        x.numpy().astype("<f4").tofile(raw)
        for precision in ("fp32", "bf16"):
            proc = subprocess.run([hesp_exe, "embed", checkpoint, "--raw-input", raw,
                                   "--shape", "4,3,224,224", "--threads", str(threads),
                                   "--precision", precision],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                result[precision] = {"error": proc.stderr.strip()}
                continue
            got = torch.tensor([json.loads(line) for line in proc.stdout.splitlines()])
            cos = torch.nn.functional.cosine_similarity(got, want, dim=1)
            result[precision] = {"max_abs_diff": float((got - want).abs().max()),
                                 "min_cosine": float(cos.min())}
    return result


def main():
    parser = argparse.ArgumentParser(description="CLIP encoder benchmark: C++ vs PyTorch eager")
    parser.add_argument("--build-dir", default="build")
    parser.add_argument("--checkpoint", help="default: BUILD/tests/bench/clip_vit_b32_random.pt")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()

    build = os.path.abspath(args.build_dir)
    bench = os.path.join(build, "tests", "bench", "bench_clip")
    hesp_exe = os.path.join(build, "tools", "hesp", "hesp")
    for exe in (bench, hesp_exe):
        if not os.path.exists(exe):
            sys.exit(f"{exe} is missing: build it first (ninja -C {args.build_dir})")
    checkpoint = args.checkpoint or os.path.join(build, "tests", "bench",
                                                 "clip_vit_b32_random.pt")
    if not os.path.exists(checkpoint):
        print(f"writing random ViT-B/32 checkpoint {checkpoint}", file=sys.stderr)
        make(checkpoint)

    torch.set_num_threads(args.threads)
    model = eager_model(checkpoint)
    eager = {b: time_eager(model, b) for b in (1, 8)}
    cpp = run_cpp(bench, checkpoint, args.threads, args.repetitions)
    for b in (1, 8):  # again after the C++ run; keep the better
        eager[b] = max(eager[b], time_eager(model, b))
    agree = agreement(hesp_exe, checkpoint, model, args.threads)

    def cpp_rate(batch, variant):
        b = cpp.get(f"BM_ImageEncoder/batch:{batch}/variant:{variant}/min_time:3.000/real_time")
        return None if not b or "error" in b else b["items_per_second"]

    peak = max((b.get("GFLOPS", 0.0) for name, b in cpp.items()
                if name.startswith("BM_MatmulPeak") and "error" not in b), default=0.0)
    flops_per_image = None
    report = {"threads": args.threads, "torch": torch.__version__,
              "eager_images_per_s": eager, "cpp": {}, "matmul_peak_gflops": peak,
              "agreement_vs_eager": agree}
    print(f"\nCLIP ViT-B/32 image encoder, {args.threads} threads, images/s "
          f"(best of {args.repetitions} runs)")
    print(f"{'':28s}{'batch 1':>10s}{'batch 8':>10s}{'x eager@8':>11s}{'GFLOP/s@8':>11s}"
          f"{'% peak':>8s}")
    print(f"{'PyTorch eager fp32':28s}{eager[1]:10.2f}{eager[8]:10.2f}{1.0:11.2f}")
    for v, label in VARIANTS.items():
        r1, r8 = cpp_rate(1, v), cpp_rate(8, v)
        if r8 is None:
            err = cpp.get(f"BM_ImageEncoder/batch:8/variant:{v}/min_time:3.000/real_time", {})
            print(f"{label:28s}  skipped: {err.get('error', 'not run')}")
            continue
        b8 = cpp[f"BM_ImageEncoder/batch:8/variant:{v}/min_time:3.000/real_time"]
        gflops = b8["GFLOPS"]
        flops_per_image = gflops * 1e9 / r8
        print(f"{label:28s}{r1:10.2f}{r8:10.2f}{r8 / eager[8]:11.2f}{gflops:11.1f}"
              f"{100 * gflops / peak if peak else 0:8.0f}")
        report["cpp"][label] = {"batch1": r1, "batch8": r8, "gflops_batch8": gflops,
                                "speedup_vs_eager_batch8": r8 / eager[8]}
    if flops_per_image:
        report["gflop_per_image"] = flops_per_image / 1e9
        eager_gflops = eager[8] * flops_per_image / 1e9
        print(f"(eager at batch 8: {eager_gflops:.1f} GFLOP/s; {flops_per_image / 1e9:.2f} GFLOP "
              "per image)")
    print(f"fp32 matmul peak (2048^3, best of BLAS and oneDNN): {peak:.1f} GFLOP/s")
    for name, b in sorted(cpp.items()):
        other = name.startswith(("BM_ClipLatency", "BM_TextEncoder", "BM_MatmulPeak"))
        if other and "error" not in b:
            extra = f", {b['GFLOPS']:.1f} GFLOP/s" if "GFLOPS" in b else ""
            print(f"{name.split('/min_time')[0]:40s}{b['real_time']:9.1f} ms{extra}")
            report.setdefault("other", {})[name] = {"ms": b["real_time"], **(
                {"gflops": b["GFLOPS"]} if "GFLOPS" in b else {})}
    for precision, a in agree.items():
        print(f"hesp embed {precision} vs eager: " + (
            a["error"] if "error" in a else
            f"max |diff| {a['max_abs_diff']:.2e}, min cosine {a['min_cosine']:.6f}"))
    out_path = os.path.join(build, "tests", "bench", "bench_clip_report.json")
    with open(out_path, "w") as f:
        json.dump(report, f, indent=2)
    print(f"report: {out_path}")


if __name__ == "__main__":
    main()
