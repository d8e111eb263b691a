// SPDX-License-Identifier: LGPL-2.1-or-later
//
// What tests/reference/*.js share: their command line (--runtime, --model, crops), reading raw RGB
// crops, starting face-api.js or plain TensorFlow.js (cpu backend) from the folder install_tfjs.sh
// makes, reading a TFJS weights manifest with its binary shards the way the runtime does, and
// loading a TFJS graph model from its files.

'use strict';

const fs = require('fs');
const path = require('path');

// The command line of a script that runs a network on crops:
//   --runtime TFJS_DIR --model MODEL [--FLAG ...] CROP [CROP ...]
// Each `flags` name is a boolean option (--tiny -> args.tiny). A crop is a file of
// cropSize x cropSize RGB bytes when cropSize is given, else WxH:FILE. Returns {runtime, model,
// crops: [{file, width, height}], ...flags}. On a mistake prints it and `usageLine` ("usage: ...")
// on stderr and exits with status 2.
function parseCropArgs(script, usageLine, argv, {cropSize = 0, flags = []} = {}) {
  const usage = (message) => {
    if (message) process.stderr.write(`${script}: ${message}\n`);
    process.stderr.write(`${usageLine}\n`);
    process.exit(2);
  };
  const args = {runtime: null, model: null, crops: []};
  for (const flag of flags) args[flag] = false;
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--runtime' || a === '--model') {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      args[a.slice(2)] = argv[++i];
    } else if (a.startsWith('--') && flags.includes(a.slice(2))) {
      args[a.slice(2)] = true;
    } else if (a.startsWith('--')) {
      usage(`unknown option ${a}`);
    } else if (cropSize) {
      args.crops.push({file: a, width: cropSize, height: cropSize});
    } else {
      const m = /^(\d+)x(\d+):(.+)$/.exec(a);
      if (!m) usage(`crop '${a}' is not WxH:FILE`);
      args.crops.push({width: Number(m[1]), height: Number(m[2]), file: m[3]});
    }
  }
  if (!args.runtime) usage('--runtime is required');
  if (!args.model) usage('--model is required');
  if (args.crops.length === 0) usage('no crops given');
  return args;
}

// A crop's bytes (width x height x 3, RGB, row-major, 0-255); throws when the file has another
// size.
function readCrop(crop) {
  const bytes = fs.readFileSync(crop.file);
  const expected = crop.width * crop.height * 3;
  if (bytes.length !== expected) {
    throw new Error(`${crop.file}: ${bytes.length} bytes, expected ${expected} ` +
                    `(${crop.width}x${crop.height} RGB)`);
  }
  return bytes;
}

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

module.exports = {
  parseCropArgs, readCrop, startFaceApi, startTfjs, loadGraphModel, loadWeightMap, runMain,
};
