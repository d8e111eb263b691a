#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Runs face-api.js's FaceExpressionNet in its own runtime (TensorFlow.js, cpu backend) on raw face
// crops and prints what it computes, so the LibTorch port can be checked against the original.
//
// Usage:
//   node faceapi_reference.js --runtime TFJS_DIR --model MODEL_DIR CROP.rgb [CROP.rgb ...]
//
//   TFJS_DIR   folder made by install_tfjs.sh (holds node_modules/)
//   MODEL_DIR  folder with face_expression_model-weights_manifest.json and its .bin shard(s)
//   CROP.rgb   112*112*3 bytes: one RGB crop, packed, row-major, values 0-255
//
// Prints one JSON document on stdout:
//   {"backend": "cpu", "tfjs": "4.22.0", "results": [{"file": ..., "probabilities": [7 numbers],
//    "logits": [7 numbers]}, ...]}
// Probabilities come from the public predictExpressions(); logits from runNet(), the same network
// without the final softmax, which lets the comparison check the part that decides open-set scores.

'use strict';

const fs = require('fs');
const path = require('path');

const kInputSize = 112;
const kManifestName = 'face_expression_model-weights_manifest.json';
const kLabels = ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'];

function usage(message) {
  if (message) process.stderr.write(`faceapi_reference.js: ${message}\n`);
  process.stderr.write(
      'usage: faceapi_reference.js --runtime TFJS_DIR --model MODEL_DIR CROP.rgb [CROP.rgb ...]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const args = {runtime: null, model: null, crops: []};
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--runtime' || a === '--model') {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      args[a.slice(2)] = argv[++i];
    } else if (a.startsWith('--')) {
      usage(`unknown option ${a}`);
    } else {
      args.crops.push(a);
    }
  }
  if (!args.runtime) usage('--runtime is required');
  if (!args.model) usage('--model is required');
  if (args.crops.length === 0) usage('no crops given');
  return args;
}

// Reads the TFJS weights manifest and its binary shards into a NamedTensorMap. decodeWeights does
// the dequantisation the way the runtime does it, which is what the port must reproduce.
function loadWeightMap(tf, modelDir) {
  const manifestPath = path.join(modelDir, kManifestName);
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  const specs = [];
  const buffers = [];
  for (const group of manifest) {
    for (const p of group.paths) buffers.push(fs.readFileSync(path.join(modelDir, p)));
    specs.push(...group.weights);
  }
  const joined = Buffer.concat(buffers);
  const arrayBuffer = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.length);
  return tf.io.decodeWeights(arrayBuffer, specs);
}

function readCrop(file) {
  const bytes = fs.readFileSync(file);
  const expected = kInputSize * kInputSize * 3;
  if (bytes.length !== expected) {
    throw new Error(`${file}: ${bytes.length} bytes, expected ${expected} (112x112 RGB)`);
  }
  return bytes;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  // TensorFlow.js greets node users on console.log; stdout must carry nothing but the JSON.
  console.log = (...parts) => console.error(...parts);
  const faceapi = require(
      path.resolve(args.runtime, 'node_modules/@vladmandic/face-api/dist/face-api.node-wasm.js'));
  const tf = faceapi.tf;
  // The wasm build registers the wasm backend; cpu is the plain JavaScript reference kernels,
  // float32 throughout, which is the closest match to what LibTorch computes.
  await tf.setBackend('cpu');
  await tf.ready();

  const net = new faceapi.FaceExpressionNet();
  net.loadFromWeightMap(loadWeightMap(tf, args.model));

  const results = [];
  for (const file of args.crops) {
    const bytes = readCrop(file);
    const input = tf.tensor4d(Float32Array.from(bytes), [1, kInputSize, kInputSize, 3], 'float32');
    const expressions = await net.predictExpressions(input);
    const probabilities = kLabels.map((label) => expressions[label]);
    // runNet takes a bare tensor for already-extracted features, so the image goes in as NetInput.
    const logitsTensor = net.runNet(await faceapi.toNetInput(input));
    const logits = Array.from(logitsTensor.dataSync());
    logitsTensor.dispose();
    input.dispose();
    results.push({file, probabilities, logits});
  }
  process.stdout.write(JSON.stringify({backend: tf.getBackend(), tfjs: tf.version_core, results}));
  process.stdout.write('\n');
}

main().catch((err) => {
  process.stderr.write(`faceapi_reference.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
