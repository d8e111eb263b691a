#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""CLIP image-encoder throughput: hesp's C++ encoder against PyTorch eager and ONNX Runtime on the
same weights and thread count, in one run. Makes the random ViT-B/32 checkpoint when it is
missing, times the eager model and ONNX Runtime, runs the Google Benchmark program, times eager and
ONNX Runtime again, checks that all agree on the embeddings, and prints a table plus a JSON report.

Every number is the fastest of many single iterations (the median is reported too): on a shared
machine other load only ever adds time, so the fastest iteration is the best estimate of what the
code itself costs, and both sides are measured the same way in the same time window. CPU time per
image (all threads of the process) is reported as well; with OMP_WAIT_POLICY=PASSIVE, which keeps
idle OpenMP threads from spinning, it measures the work an image costs independently of other
load on the machine.

    /usr/bin/python3 tests/bench/bench_clip.py --build-dir build

Needs PyTorch (Debian: python3-torch) and a build with benchmarks (bench_clip, hesp).

The ONNX Runtime column (fp32, CPU execution provider, intra-op threads = --threads, inter-op 1)
runs through onnxruntime-node (bench_clip_ort.js), which is not part of the project's setup.
Install it once into a folder of your choice and name that folder with --ort-node-dir or
HESP_BENCH_ORT_NODE_DIR (the folder that holds node_modules):

    mkdir -p ~/ortnode && (cd ~/ortnode && npm install --ignore-scripts onnxruntime-node)
    /usr/bin/python3 tests/bench/bench_clip.py --build-dir build --ort-node-dir ~/ortnode

The npm package ships its native library, so --ignore-scripts (no download at install) is enough
on Linux x64. The image tower is exported with torch.onnx.export (opset 14) and cached next to the
checkpoint as CHECKPOINT.image.onnx. Without node or the package the column is skipped.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

# OpenMP reads this when the runtime loads, so it is set before torch is imported; the C++ side
# inherits it. With the default (spinning) policy, on a machine where other jobs compete for the
# cores, every OpenMP barrier can cost a scheduler time slice and timings become noise. Both sides
# always run under the same policy; export OMP_WAIT_POLICY=ACTIVE to measure the other one.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    import torch
except ImportError:
    sys.exit("bench_clip.py needs PyTorch; run it with an interpreter that has it "
             "(on Debian: apt install python3-torch, then /usr/bin/python3)")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_clip_model import CLIP  # noqa: E402
from make_vit_b32_checkpoint import make  # noqa: E402

VARIANTS = {0: "C++ fp32 (default)", 3: "C++ fp32 (ATen oneDNN)", 1: "C++ fp32 (at::linear)",
            2: "C++ bf16 (oneDNN)"}


def eager_model(checkpoint):
    state = torch.jit.load(checkpoint, map_location="cpu").state_dict()
    model = CLIP().eval()
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model


def time_eager(model, batch, samples):
    """(wall seconds, process CPU seconds) of each of `samples` single forward passes."""
    x = torch.randn(batch, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    times = []
    with torch.inference_mode():
        model.encode_image(x)  # warm-up
        for _ in range(samples):
            start, cpu = time.perf_counter(), time.process_time()
            model.encode_image(x)
            times.append((time.perf_counter() - start, time.process_time() - cpu))
    return times


def onnx_image_tower(checkpoint, model):
    """Path of the image tower exported to ONNX, made next to the checkpoint when missing."""
    path = checkpoint + ".image.onnx"
    if os.path.exists(path) and os.path.getmtime(path) >= os.path.getmtime(checkpoint):
        return path
    print(f"exporting the image tower to {path}", file=sys.stderr)
    x = torch.randn(1, 3, 224, 224)
    tmp = path + ".tmp"
    with torch.no_grad():
        torch.onnx.export(model.visual, (x,), tmp, opset_version=14, input_names=["images"],
                          output_names=["embeddings"],
                          dynamic_axes={"images": {0: "batch"}, "embeddings": {0: "batch"}})
    os.replace(tmp, path)
    return path


def run_ort(node_dir, onnx_path, threads, samples, check_input=None):
    """ONNX Runtime through bench_clip_ort.js: {"seconds": {batch: [...]}, ...} or {"error"}."""
    node = shutil.which("node")
    if not node:
        return {"error": "node is not installed"}
    if not node_dir or not os.path.isdir(os.path.join(node_dir, "node_modules",
                                                      "onnxruntime-node")):
        return {"error": "onnxruntime-node not found (see --ort-node-dir in this script's "
                         "docstring)"}
    cmd = [node, os.path.join(HERE, "bench_clip_ort.js"), "--model", onnx_path,
           "--threads", str(threads), "--samples", str(samples),
           "--batches", "1,8" if samples else ""]
    if check_input:
        cmd += ["--check-input", check_input, "--check-batch", "4"]
    env = dict(os.environ, NODE_PATH=os.path.join(os.path.abspath(node_dir), "node_modules"))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    try:
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": f"bench_clip_ort.js failed: {proc.stderr.strip()[-500:]}"}
    return out


def base_name(run_name):
    skip = ("min_time", "real_time", "process_time")
    return "/".join(p for p in run_name.split("/") if not p.startswith(skip))


def run_cpp(bench, checkpoint, threads, repetitions):
    """Fastest repetition of each benchmark (single iterations), plus every repetition's time."""
    env = dict(os.environ, HESP_BENCH_CLIP_CHECKPOINT=checkpoint, HESP_BENCH_THREADS=str(threads))
    out = subprocess.run([bench, "--benchmark_format=json", "--benchmark_min_time=0",
                          f"--benchmark_repetitions={repetitions}"],
                         env=env, check=True, capture_output=True, text=True).stdout
    runs = [b for b in json.loads(out)["benchmarks"] if b.get("run_type") == "iteration"]
    best = {}
    for b in runs:
        name = base_name(b["run_name"])
        if b.get("error_occurred"):
            best[name] = {"error": b.get("error_message", "")}
            continue
        keep = best.get(name)
        cpu_ms = min((keep or {}).get("min_cpu_ms", b["cpu_time"]), b["cpu_time"])
        if keep is None or b["real_time"] < keep["real_time"]:
            best[name] = dict(b, all_ms=(keep or {}).get("all_ms", []) + [b["real_time"]])
        else:
            keep["all_ms"].append(b["real_time"])
        best[name]["min_cpu_ms"] = cpu_ms
    return best


def compare(got, want):
    cos = torch.nn.functional.cosine_similarity(got, want, dim=1)
    return {"max_abs_diff": float((got - want).abs().max()), "min_cosine": float(cos.min())}


def agreement(hesp_exe, checkpoint, model, threads, ort_check):
    """Max |difference| and worst cosine between hesp embed (and ONNX Runtime, through
    ort_check(raw_file) -> [[float]] or {"error"}) and eager on 4 random images."""
    x = torch.randn(4, 3, 224, 224, generator=torch.Generator().manual_seed(7))
    with torch.inference_mode():
        want = model.encode_image(x)
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "input.f32")
        x.numpy().astype("<f4").tofile(raw)
        ort = ort_check(raw)
        result["onnxruntime"] = ort if isinstance(ort, dict) else compare(torch.tensor(ort), want)
        for precision in ("fp32", "bf16"):
            proc = subprocess.run([hesp_exe, "embed", checkpoint, "--raw-input", raw,
                                   "--shape", "4,3,224,224", "--threads", str(threads),
                                   "--precision", precision],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                result[precision] = {"error": proc.stderr.strip()}
                continue
            got = torch.tensor([json.loads(line) for line in proc.stdout.splitlines()])
            result[precision] = compare(got, want)
    return result


def main():
    parser = argparse.ArgumentParser(
        description="CLIP encoder benchmark: C++ vs PyTorch eager and ONNX Runtime")
    parser.add_argument("--build-dir", default="build")
    parser.add_argument("--checkpoint", help="default: BUILD/tests/bench/clip_vit_b32_random.pt")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repetitions", type=int, default=15,
                        help="single-iteration samples per configuration and side")
    parser.add_argument("--ort-node-dir", default=os.environ.get("HESP_BENCH_ORT_NODE_DIR"),
                        help="folder whose node_modules holds onnxruntime-node "
                             "(default: $HESP_BENCH_ORT_NODE_DIR); without it ORT is skipped")
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
    half = max(1, args.repetitions // 2)
    onnx_path = onnx_image_tower(checkpoint, model) if args.ort_node_dir else None
    ort_runs = []
    eager_times = {b: time_eager(model, b, half) for b in (1, 8)}
    if onnx_path:
        ort_runs.append(run_ort(args.ort_node_dir, onnx_path, args.threads, half))
    cpp = run_cpp(bench, checkpoint, args.threads, args.repetitions)
    for b in (1, 8):  # the other half after the C++ run, so all sides share the time window
        eager_times[b] += time_eager(model, b, args.repetitions - half)
    if onnx_path:
        ort_runs.append(run_ort(args.ort_node_dir, onnx_path, args.threads,
                                args.repetitions - half))
    ort_error = next((r["error"] for r in ort_runs if "error" in r),
                     None if onnx_path else "no --ort-node-dir / HESP_BENCH_ORT_NODE_DIR given")
    ort_times = {b: [t for r in ort_runs for t in r["seconds"][str(b)]] for b in (1, 8)} \
        if not ort_error else {}
    ort_cpu_ms = {b: 1000.0 * min(t for r in ort_runs for t in r["cpu_seconds"][str(b)]) / b
                  for b in ort_times}
    ort = {b: b / min(t) for b, t in ort_times.items()}
    ort_median = {b: b / sorted(t)[len(t) // 2] for b, t in ort_times.items()}
    eager = {b: b / min(w for w, _ in t) for b, t in eager_times.items()}
    eager_median = {b: b / sorted(w for w, _ in t)[len(t) // 2] for b, t in eager_times.items()}
    eager_cpu_ms = {b: 1000.0 * min(c for _, c in t) / b for b, t in eager_times.items()}
    def ort_check(raw):
        if ort_error:
            return {"error": ort_error}
        r = run_ort(args.ort_node_dir, onnx_path, args.threads, 0, check_input=raw)
        return r if "error" in r else r["check"]

    agree = agreement(hesp_exe, checkpoint, model, args.threads, ort_check)

    def image_run(batch, variant):
        return cpp.get(f"BM_ImageEncoder/batch:{batch}/variant:{variant}", {})

    def cpp_rate(batch, variant):
        b = image_run(batch, variant)
        return None if not b or "error" in b else b["items_per_second"]

    def median_rate(batch, variant):
        times = sorted(image_run(batch, variant).get("all_ms", []))
        return batch * 1000.0 / times[len(times) // 2] if times else None

    peak = max((b.get("GFLOPS", 0.0) for name, b in cpp.items()
                if name.startswith("BM_MatmulPeak") and "error" not in b), default=0.0)
    flops_per_image = None
    report = {"threads": args.threads, "torch": torch.__version__, "samples": args.repetitions,
              "cpp_raw": cpp, "eager_raw_seconds": eager_times,
              "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(default)"),
              "eager_images_per_s": eager, "eager_images_per_s_median": eager_median,
              "eager_cpu_ms_per_image": eager_cpu_ms, "cpp": {},
              "ort_images_per_s": ort, "ort_images_per_s_median": ort_median,
              "ort_raw_seconds": ort_times, "ort_error": ort_error,
              "ort_cpu_ms_per_image": ort_cpu_ms,
              "ort_version": next((r.get("ort_version") for r in ort_runs), None),
              "matmul_peak_gflops": peak, "agreement_vs_eager": agree,
              "loadavg_after": open("/proc/loadavg").read().split()[:3]}
    print(f"\nCLIP ViT-B/32 image encoder, {args.threads} threads, "
          f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}, images/s: fastest of "
          f"{args.repetitions} single passes (median in brackets)")
    print(f"{'':24s}{'batch 1':>16s}{'batch 8':>16s}{'x eager@8':>10s}{'GFLOP/s@8':>10s}"
          f"{'% peak':>7s}{'CPU ms/img@8':>13s}")

    def cell(best, median):
        return f"{best:7.2f} ({median:6.2f})"

    print(f"{'PyTorch eager fp32':24s}{cell(eager[1], eager_median[1]):>16s}"
          f"{cell(eager[8], eager_median[8]):>16s}{1.0:10.2f}{'':17s}{eager_cpu_ms[8]:13.1f}")
    if ort:
        print(f"{'ONNX Runtime fp32':24s}{cell(ort[1], ort_median[1]):>16s}"
              f"{cell(ort[8], ort_median[8]):>16s}{ort[8] / eager[8]:10.2f}{'':17s}"
              f"{ort_cpu_ms[8]:13.1f}")
    else:
        print(f"{'ONNX Runtime fp32':24s}  skipped: {ort_error}")
    for v, label in VARIANTS.items():
        r1, r8 = cpp_rate(1, v), cpp_rate(8, v)
        if r8 is None:
            print(f"{label:24s}  skipped: {image_run(8, v).get('error', 'not run')}")
            continue
        gflops = image_run(8, v)["GFLOPS"]
        flops_per_image = gflops * 1e9 / r8
        cpu_ms = image_run(8, v)["min_cpu_ms"] / 8
        print(f"{label:24s}{cell(r1, median_rate(1, v)):>16s}{cell(r8, median_rate(8, v)):>16s}"
              f"{r8 / eager[8]:10.2f}{gflops:10.1f}{100 * gflops / peak if peak else 0:7.0f}"
              f"{cpu_ms:13.1f}")
        report["cpp"][label] = {"batch1": r1, "batch8": r8, "gflops_batch8": gflops,
                                "batch1_median": median_rate(1, v),
                                "batch8_median": median_rate(8, v),
                                "cpu_ms_per_image_batch8": cpu_ms,
                                "speedup_vs_eager_batch8": r8 / eager[8]}
    fp32 = VARIANTS[0]
    if ort and fp32 in report["cpp"]:
        ratio = {b: report["cpp"][fp32][f"batch{b}"] / ort[b] for b in (1, 8)}
        report["cpp_fp32_over_ort"] = ratio
        print(f"{fp32} / ONNX Runtime fp32: batch 1 {ratio[1]:.2f}, batch 8 {ratio[8]:.2f} "
              f"(fastest), batch 1 "
              f"{report['cpp'][fp32]['batch1_median'] / ort_median[1]:.2f}, batch 8 "
              f"{report['cpp'][fp32]['batch8_median'] / ort_median[8]:.2f} (median)")
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
            print(f"{name:40s}{b['real_time']:9.1f} ms{extra}")
            report.setdefault("other", {})[name] = {"ms": b["real_time"], **(
                {"gflops": b["GFLOPS"]} if "GFLOPS" in b else {})}
    for precision, a in agree.items():
        who = "ONNX Runtime" if precision == "onnxruntime" else f"hesp embed {precision}"
        print(f"{who} vs eager: " + (
            a["error"] if "error" in a else
            f"max |diff| {a['max_abs_diff']:.2e}, min cosine {a['min_cosine']:.6f}"))
    out_path = os.path.join(build, "tests", "bench", "bench_clip_report.json")
    with open(out_path, "w") as f:
        json.dump(report, f, indent=2)
    print(f"report: {out_path}")


if __name__ == "__main__":
    main()
