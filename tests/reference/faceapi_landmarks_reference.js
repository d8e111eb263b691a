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

const path = require('path');

const {parseCropArgs, readCrop, startFaceApi, loadWeightMap, runMain} =
    require('../support/tfjs_runtime.js');

const kUsage = 'usage: faceapi_landmarks_reference.js --runtime TFJS_DIR --model MODEL_DIR ' +
    '[--tiny] WxH:CROP.rgb [...]';

// An int32 [H, W, 3] tensor of the crop: face-api's tensor path (padToSquare, resizeBilinear).
function cropTensor(tf, crop) {
  return tf.tensor3d(Int32Array.from(readCrop(crop)), [crop.height, crop.width, 3], 'int32');
}

async function main() {
  const args = parseCropArgs(
      'faceapi_landmarks_reference.js', kUsage, process.argv.slice(2), {flags: ['tiny']});
  const faceapi = await startFaceApi(args.runtime);
  const tf = faceapi.tf;
  const net = args.tiny ? new faceapi.FaceLandmark68TinyNet() : new faceapi.FaceLandmark68Net();
  const manifest = args.tiny ? 'face_landmark_68_tiny_model-weights_manifest.json'
                             : 'face_landmark_68_model-weights_manifest.json';
  net.loadFromWeightMap(loadWeightMap(tf, path.join(args.model, manifest)));

  const results = [];
  for (const crop of args.crops) {
    const input = cropTensor(tf, crop);
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
