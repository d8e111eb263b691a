#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Runs face-api.js's FaceRecognitionNet in its own runtime (TensorFlow.js, cpu backend) on raw
// face crops and prints the descriptors, so that the LibTorch port can be checked against it.
//
// Usage:
//   node faceapi_descriptor_reference.js --runtime TFJS_DIR --model MODEL_DIR
//        WxH:CROP.rgb [WxH:CROP.rgb ...]
//
//   TFJS_DIR     folder made by install_tfjs.sh (holds node_modules/)
//   MODEL_DIR    folder with face_recognition_model-weights_manifest.json and its shard
//   WxH:CROP.rgb W*H*3 bytes: one RGB crop, packed, row-major, values 0-255, of any size
//
// Prints one JSON document on stdout:
//   {"backend": "cpu", "tfjs": ..., "results": [{"file": ..., "descriptor": [128 numbers]}, ...]}
// The descriptors are computeFaceDescriptor()'s, as face-api returns them (not normalised).

'use strict';

const path = require('path');

const {parseCropArgs, readCrop, startFaceApi, loadWeightMap, runMain} =
    require('../support/tfjs_runtime.js');

const kUsage = 'usage: faceapi_descriptor_reference.js --runtime TFJS_DIR --model MODEL_DIR ' +
    'WxH:CROP.rgb [...]';

async function main() {
  const args = parseCropArgs('faceapi_descriptor_reference.js', kUsage, process.argv.slice(2));
  const faceapi = await startFaceApi(args.runtime);
  const tf = faceapi.tf;
  const net = new faceapi.FaceRecognitionNet();
  net.loadFromWeightMap(
      loadWeightMap(tf, path.join(args.model, 'face_recognition_model-weights_manifest.json')));

  const results = [];
  for (const crop of args.crops) {
    const pixels = readCrop(crop);
    // An int32 image tensor takes face-api's tensor path: padToSquare, then resizeBilinear.
    const input = tf.tensor3d(Int32Array.from(pixels), [crop.height, crop.width, 3], 'int32');
    const descriptor = await net.computeFaceDescriptor(input);
    input.dispose();
    results.push({file: crop.file, descriptor: Array.from(descriptor)});
  }
  process.stdout.write(JSON.stringify({backend: tf.getBackend(), tfjs: tf.version_core, results}));
  process.stdout.write('\n');
}

runMain('faceapi_descriptor_reference.js', main);
