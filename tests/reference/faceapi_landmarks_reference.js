#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Runs face-api.js's 68-point landmark networks (FaceLandmark68Net, FaceLandmark68TinyNet) in
// their own runtime (TensorFlow.js, cpu backend) on raw face crops and prints what they compute,
// so that the LibTorch port can be checked against the original.
//
// Usage:
//   node faceapi_landmarks_reference.js --runtime TFJS_DIR --model MODEL_DIR [--tiny]
//        WxH:CROP.rgb [WxH:CROP.rgb ...]
//
//   TFJS_DIR     folder made by install_tfjs.sh (holds node_modules/)
//   MODEL_DIR    folder with face_landmark_68[_tiny]_model-weights_manifest.json and its shard
//   WxH:CROP.rgb W*H*3 bytes: one RGB crop, packed, row-major, values 0-255, of any size
//
// Prints one JSON document on stdout:
//   {"backend": "cpu", "tfjs": ..., "net": "full"|"tiny", "results": [{"file": ..., "raw": [136
//    numbers], "points": [[x, y] x 68]}, ...]}
// raw is runNet() (points relative to the padded 112 x 112 square), points are
// detectLandmarks()'s positions in the crop's pixels (after face-api's own postProcess).

'use strict';

const fs = require('fs');
const path = require('path');

const {startFaceApi, loadWeightMap, runMain} = require('../support/tfjs_runtime.js');

function usage(message) {
  if (message) process.stderr.write(`faceapi_landmarks_reference.js: ${message}\n`);
  process.stderr.write(
      'usage: faceapi_landmarks_reference.js --runtime TFJS_DIR --model MODEL_DIR [--tiny] ' +
      'WxH:CROP.rgb [...]\n');
  process.exit(2);
}

// "WxH:path" -> {width, height, file}
function parseCrop(spec) {
  const m = /^(\d+)x(\d+):(.+)$/.exec(spec);
  if (!m) usage(`crop '${spec}' is not WxH:FILE`);
  return {width: Number(m[1]), height: Number(m[2]), file: m[3]};
}

function parseArgs(argv) {
  const args = {runtime: null, model: null, tiny: false, crops: []};
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--runtime' || a === '--model') {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      args[a.slice(2)] = argv[++i];
    } else if (a === '--tiny') {
      args.tiny = true;
    } else if (a.startsWith('--')) {
      usage(`unknown option ${a}`);
    } else {
      args.crops.push(parseCrop(a));
    }
  }
  if (!args.runtime) usage('--runtime is required');
  if (!args.model) usage('--model is required');
  if (args.crops.length === 0) usage('no crops given');
  return args;
}

// An int32 [H, W, 3] tensor of the crop: face-api's tensor path (padToSquare, resizeBilinear).
function readCrop(tf, crop) {
  const pixels = fs.readFileSync(crop.file);
  if (pixels.length !== crop.width * crop.height * 3) {
    throw new Error(`${crop.file}: ${pixels.length} bytes, expected ${crop.width}x${crop.height}x3`);
  }
  return tf.tensor3d(Int32Array.from(pixels), [crop.height, crop.width, 3], 'int32');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const faceapi = await startFaceApi(args.runtime);
  const tf = faceapi.tf;
  const net = args.tiny ? new faceapi.FaceLandmark68TinyNet() : new faceapi.FaceLandmark68Net();
  const manifest = args.tiny ? 'face_landmark_68_tiny_model-weights_manifest.json'
                             : 'face_landmark_68_model-weights_manifest.json';
  net.loadFromWeightMap(loadWeightMap(tf, path.join(args.model, manifest)));

  const results = [];
  for (const crop of args.crops) {
    const input = readCrop(tf, crop);
    const rawTensor = net.runNet(await faceapi.toNetInput(input));
    const raw = Array.from(rawTensor.dataSync());
    rawTensor.dispose();
    const landmarks = await net.detectLandmarks(input);
    const points = landmarks.positions.map((p) => [p.x, p.y]);
    input.dispose();
    results.push({file: crop.file, raw, points});
  }
  process.stdout.write(JSON.stringify(
      {backend: tf.getBackend(), tfjs: tf.version_core, net: args.tiny ? 'tiny' : 'full', results}));
  process.stdout.write('\n');
}

runMain('faceapi_landmarks_reference.js', main);
