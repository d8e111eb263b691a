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

const {startFaceApi, loadWeightMap, runMain} = require('../support/tfjs_runtime.js');

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
  const faceapi = await startFaceApi(args.runtime);
  const tf = faceapi.tf;

  const net = new faceapi.FaceExpressionNet();
  net.loadFromWeightMap(loadWeightMap(tf, path.join(args.model, kManifestName)));

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

runMain('faceapi_reference.js', main);
