#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Runs face-api.js's TinyFaceDetector in its own runtime (TensorFlow.js, cpu backend) on one raw
// RGB picture and prints the faces it finds, so that the LibTorch port can be checked against it.
//
// Usage:
//   node tiny_face_reference.js --runtime TFJS_DIR --model MANIFEST_OR_DIR --width W --height H
//        [--input-size 416] [--score-threshold 0.5] [--raw] PICTURE.rgb
//
//   TFJS_DIR         folder made by install_tfjs.sh (holds node_modules/)
//   MANIFEST_OR_DIR  tiny_face_detector_model-weights_manifest.json, or the folder holding it
//   PICTURE.rgb      W*H*3 bytes: RGB, packed, row-major, values 0-255
//   --raw            also print the network's undecoded output grid
//
// Prints one JSON document on stdout:
//   {"backend": "cpu", "tfjs": ..., "inputSize": 416, "scoreThreshold": 0.5, "width": W,
//    "height": H, "detections": [{"x", "y", "width", "height", "score"}, ...],
//    "raw": {"cells": 13, "values": [cells*cells*25 numbers]}}   (raw only with --raw)
// Detections are face-api's own results (after its score threshold and NMS), in picture pixels.

'use strict';

const fs = require('fs');
const path = require('path');

const {readCrop, startFaceApi, loadWeightMap, runMain} = require('../support/tfjs_runtime.js');

const kManifestName = 'tiny_face_detector_model-weights_manifest.json';

function usage(message) {
  if (message) process.stderr.write(`tiny_face_reference.js: ${message}\n`);
  process.stderr.write(
      'usage: tiny_face_reference.js --runtime TFJS_DIR --model MANIFEST_OR_DIR --width W ' +
      '--height H [--input-size N] [--score-threshold T] [--raw] PICTURE.rgb\n');
  process.exit(2);
}

function parseArgs(argv) {
  const args = {
    runtime: null, model: null, width: 0, height: 0, inputSize: 416, scoreThreshold: 0.5,
    raw: false, picture: null,
  };
  const valueOptions = {
    '--runtime': (v) => { args.runtime = v; },
    '--model': (v) => { args.model = v; },
    '--width': (v) => { args.width = Number(v); },
    '--height': (v) => { args.height = Number(v); },
    '--input-size': (v) => { args.inputSize = Number(v); },
    '--score-threshold': (v) => { args.scoreThreshold = Number(v); },
  };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a in valueOptions) {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      valueOptions[a](argv[++i]);
    } else if (a === '--raw') {
      args.raw = true;
    } else if (a.startsWith('--')) {
      usage(`unknown option ${a}`);
    } else if (args.picture === null) {
      args.picture = a;
    } else {
      usage('only one picture per run');
    }
  }
  if (!args.runtime) usage('--runtime is required');
  if (!args.model) usage('--model is required');
  if (!(Number.isInteger(args.width) && args.width > 0)) usage('--width must be a positive integer');
  if (!(Number.isInteger(args.height) && args.height > 0)) {
    usage('--height must be a positive integer');
  }
  if (!(Number.isInteger(args.inputSize) && args.inputSize > 0 && args.inputSize % 32 === 0)) {
    usage('--input-size must be a positive multiple of 32');
  }
  if (!(args.scoreThreshold > 0 && args.scoreThreshold < 1)) {
    usage('--score-threshold must lie strictly between 0 and 1');
  }
  if (!args.picture) usage('no picture given');
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const faceapi = await startFaceApi(args.runtime);
  const tf = faceapi.tf;

  const pixels = readCrop({file: args.picture, width: args.width, height: args.height});

  const net = new faceapi.TinyFaceDetector();
  const manifest =
      fs.statSync(args.model).isDirectory() ? path.join(args.model, kManifestName) : args.model;
  net.loadFromWeightMap(loadWeightMap(tf, manifest));

  // An int32 image tensor takes face-api's tensor path: padToSquare, then resizeBilinear.
  const picture = tf.tensor3d(Int32Array.from(pixels), [args.height, args.width, 3], 'int32');
  const options = new faceapi.TinyFaceDetectorOptions(
      {inputSize: args.inputSize, scoreThreshold: args.scoreThreshold});
  const faces = await net.locateFaces(picture, options);
  const detections = faces.map((f) => ({
    x: f.box.x, y: f.box.y, width: f.box.width, height: f.box.height, score: f.score,
  }));

  const result = {
    backend: tf.getBackend(),
    tfjs: tf.version_core,
    inputSize: args.inputSize,
    scoreThreshold: args.scoreThreshold,
    width: args.width,
    height: args.height,
    detections,
  };
  if (args.raw) {
    const grid = net.forwardInput(await faceapi.toNetInput(picture), args.inputSize);
    result.raw = {cells: grid.shape[1], values: Array.from(grid.dataSync())};
    grid.dispose();
  }
  picture.dispose();
  process.stdout.write(JSON.stringify(result));
  process.stdout.write('\n');
}

runMain('tiny_face_reference.js', main);
