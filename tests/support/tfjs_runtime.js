// SPDX-License-Identifier: LGPL-2.1-or-later
//
// What tests/reference/*.js share: starting face-api.js or plain TensorFlow.js (cpu backend) from
// the folder install_tfjs.sh makes, reading a TFJS weights manifest with its binary shards the way
// the runtime does, and loading a TFJS graph model from its files.

'use strict';

const fs = require('fs');
const path = require('path');

// Loads face-api.js from TFJS_DIR/node_modules and selects the cpu backend: TensorFlow.js's plain
// JavaScript kernels in float32, deterministic and the closest match to what LibTorch computes
// on a CPU (the wasm build registers the wasm backend). Returns the face-api module; its `tf` is
// the runtime.
async function startFaceApi(runtimeDir) {
  // TensorFlow.js greets node users on console.log; stdout must carry nothing but the JSON.
  console.log = (...parts) => console.error(...parts);
  const faceapi = require(
      path.resolve(runtimeDir, 'node_modules/@vladmandic/face-api/dist/face-api.node-wasm.js'));
  await faceapi.tf.setBackend('cpu');
  await faceapi.tf.ready();
  return faceapi;
}

// TensorFlow.js itself (the union package), cpu backend: for graph models, which the runtime runs
// without face-api.js.
async function startTfjs(runtimeDir) {
  console.log = (...parts) => console.error(...parts);
  const tf = require(path.resolve(runtimeDir, 'node_modules/@tensorflow/tfjs'));
  await tf.setBackend('cpu');
  await tf.ready();
  return tf;
}

// A graph model (model.json with modelTopology and weightsManifest, shards beside it) loaded by
// tf.loadGraphModel from memory, so no fetch or file-system IO handler is involved.
async function loadGraphModel(tf, modelJsonPath) {
  const folder = path.dirname(modelJsonPath);
  const model = JSON.parse(fs.readFileSync(modelJsonPath, 'utf8'));
  const specs = [];
  const shards = [];
  for (const group of model.weightsManifest) {
    for (const shard of group.paths) shards.push(fs.readFileSync(path.join(folder, shard)));
    specs.push(...group.weights);
  }
  const bytes = Buffer.concat(shards);
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  return tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: model.modelTopology,
    weightSpecs: specs,
    weightData,
    format: model.format,
    generatedBy: model.generatedBy,
    convertedBy: model.convertedBy,
    userDefinedMetadata: model.userDefinedMetadata,
  }));
}

// The manifest and its shards (named relative to the manifest's folder) decoded by
// tf.io.decodeWeights into a NamedTensorMap, i.e. dequantised by the runtime itself rather than
// by code that could share a mistake with the port.
function loadWeightMap(tf, manifestPath) {
  const folder = path.dirname(manifestPath);
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  const specs = [];
  const shards = [];
  for (const group of manifest) {
    for (const shard of group.paths) shards.push(fs.readFileSync(path.join(folder, shard)));
    specs.push(...group.weights);
  }
  const bytes = Buffer.concat(shards);
  return tf.io.decodeWeights(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length), specs);
}

// Runs main(), reporting a failure as "SCRIPT: error" on stderr and exit status 1.
function runMain(script, main) {
  main().catch((err) => {
    process.stderr.write(`${script}: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  });
}

module.exports = {startFaceApi, startTfjs, loadGraphModel, loadWeightMap, runMain};
