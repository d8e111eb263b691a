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

const path = require('path');

const {parseCropArgs, readCrop, startFaceApi, loadWeightMap, runMain} =
    require('../support/tfjs_runtime.js');

const kInputSize = 112;
const kManifestName = 'face_expression_model-weights_manifest.json';
const kLabels = ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'];

const kUsage =
    'usage: faceapi_reference.js --runtime TFJS_DIR --model MODEL_DIR CROP.rgb [CROP.rgb ...]';

async function main() {
  const args = parseCropArgs(
      'faceapi_reference.js', kUsage, process.argv.slice(2), {cropSize: kInputSize});
  const faceapi = await startFaceApi(args.runtime);
  const tf = faceapi.tf;

  const net = new faceapi.FaceExpressionNet();
  net.loadFromWeightMap(loadWeightMap(tf, path.join(args.model, kManifestName)));

  const results = [];
  for (const crop of args.crops) {
    const file = crop.file;
    const bytes = readCrop(crop);
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
