// SPDX-License-Identifier: LGPL-2.1-or-later
// ONNX Runtime column of bench_clip.py: times an exported CLIP image tower through
// onnxruntime-node (CPU execution provider, fp32) and prints one JSON object on stdout.
//
//   node bench_clip_ort.js --model M.onnx --threads 2 --samples 15 --batches 1,8 \
//        [--check-input x.f32 --check-batch 4]
//
// Each sample is one session.run() timed on its own (after one warm-up run per batch size), as
// the other columns are; the process's CPU time (all threads) per sample is reported too. With --check-input, the model also runs once on that raw little-endian
// float32 [check-batch, 3, 224, 224] file and its embeddings are printed under "check".
// The package is looked up through NODE_PATH (bench_clip.py sets it from --ort-node-dir).
'use strict';

const fs = require('fs');

function parseArgs(argv) {
  const args = {threads: 2, samples: 15, batches: '1,8', checkBatch: 4};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-(.)/g, (_, c) => c.toUpperCase());
    args[key] = argv[i + 1];
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    console.log(JSON.stringify({error: 'onnxruntime-node not found: ' + e.message}));
    process.exit(3);
  }
  const threads = Number(args.threads);
  const session = await ort.InferenceSession.create(args.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  const size = 224;
  const result = {threads, samples: Number(args.samples), seconds: {}, cpu_seconds: {}};
  for (const batch of String(args.batches).split(',').filter(Boolean).map(Number)) {
    const data = new Float32Array(batch * 3 * size * size);
    let seed = 1;
    for (let i = 0; i < data.length; ++i) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      data[i] = (seed / 4294967296 - 0.5) * 3.4;
    }
    const feeds = {[inputName]: new ort.Tensor('float32', data, [batch, 3, size, size])};
    await session.run(feeds);  // warm-up
    const times = [], cpu = [];
    for (let s = 0; s < result.samples; ++s) {
      const cpuStart = process.cpuUsage();
      const start = process.hrtime.bigint();
      await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - start) / 1e9);
      const used = process.cpuUsage(cpuStart);
      cpu.push((used.user + used.system) / 1e6);
    }
    result.seconds[batch] = times;
    result.cpu_seconds[batch] = cpu;  // all threads of the process
  }
  if (args.checkInput) {
    const batch = Number(args.checkBatch);
    const buf = fs.readFileSync(args.checkInput);
    const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    const out = await session.run(
        {[inputName]: new ort.Tensor('float32', Float32Array.from(data), [batch, 3, size, size])});
    const t = out[outputName];
    const dim = t.dims[1];
    result.check = [];
    for (let r = 0; r < batch; ++r) result.check.push(Array.from(t.data.slice(r * dim, (r + 1) * dim)));
  }
  result.ort_version = require('onnxruntime-node/package.json').version;
  console.log(JSON.stringify(result));
}

main().catch((e) => {
  console.log(JSON.stringify({error: String(e && e.message || e)}));
  process.exit(1);
});
