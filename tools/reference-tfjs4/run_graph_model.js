#!/usr/bin/env node
/**
 * Long-lived worker that runs TF.js graph models with @tensorflow/tfjs-converter 4.22.0 on the
 * cpu backend (@tensorflow/tfjs-backend-cpu 4.22.0): the reference for posenet.runtime and
 * posenet.classify.
 *
 * Protocol: one JSON request per line on stdin, one JSON reply per line on stdout, in order.
 * Every reply carries the request's `id` and `ok`; failures reply {"ok": false, "error": text}
 * and the worker keeps running. Logs go to stderr only.
 *
 * Tensors travel as raw little-endian files: {"file", "dtype" (float32|int32|bool), "shape"}.
 *
 * Commands (see tests/reference_tfjs4.py for the Python client):
 *   version  -> versions of tfjs-core, -converter, -backend-cpu, node; backend; live tensors
 *   load     -> {"model_json"}: loadGraphModel through an IO handler that reads the model JSON
 *               and its shards from disk; replies {"handle", "inputs", "outputs",
 *               "input_nodes", "output_nodes"} (GraphModel's own descriptions)
 *   execute  -> {"handle", "inputs": {name: tensor file}, "outputs": [names] | null, "prefix"}:
 *               model.execute(inputs, outputs); writes each result to `${prefix}.${i}.bin`
 *   classify_preprocess -> {"image" (raw RGB bytes), "height", "width", "size", "prefix"}:
 *               the classifier's JavaScript preprocessing (int32 pixels, cast to float32,
 *               div 255, resizeBilinear(size x size, alignCorners=true), batch of one)
 *   unload   -> {"handle"}: dispose a model
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const {serve} = require('../node-worker-loop'); // the JSON-lines loop (Node built-ins only)

console.log = console.info = console.debug = (...args) => console.error(...args);

const tf = require('@tensorflow/tfjs-core');
const tfconv = require('@tensorflow/tfjs-converter');
require('@tensorflow/tfjs-backend-cpu');

if (os.endianness() !== 'LE') throw new Error('the raw tensor files are little-endian; this machine is not');

function packageVersion(name) {
  const pkgDir = path.dirname(require.resolve(name)).split(path.sep + 'dist')[0];
  return JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
}

// ---------------------------------------------------------------------------------------------
// Local files: a tfjs IOHandler reading model.json + shards, and raw tensor files.

function readModelArtifacts(jsonPath) {
  const modelJson = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  if (modelJson.modelTopology == null) throw new Error(`${jsonPath} has no modelTopology`);
  const dir = path.dirname(jsonPath);
  const weightSpecs = [];
  const buffers = [];
  for (const group of modelJson.weightsManifest || []) {
    weightSpecs.push(...group.weights);
    for (const shard of group.paths) buffers.push(fs.readFileSync(path.join(dir, shard)));
  }
  const all = Buffer.concat(buffers);
  return {
    modelTopology: modelJson.modelTopology,
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy,
    signature: modelJson.signature,
    userDefinedMetadata: modelJson.userDefinedMetadata,
    modelInitializer: modelJson.modelInitializer,
    weightSpecs,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
  };
}

const ARRAYS = {float32: Float32Array, int32: Int32Array, bool: Uint8Array};

function readTensor(spec) {
  const Type = ARRAYS[spec.dtype];
  if (Type == null) throw new Error(`unsupported dtype ${JSON.stringify(spec.dtype)}`);
  const bytes = fs.readFileSync(spec.file);
  const values = new Type(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return tf.tensor(values, spec.shape, spec.dtype);
}

async function writeTensor(t, file) {
  const data = await t.data();
  const Type = ARRAYS[t.dtype];
  if (Type == null) throw new Error(`cannot write a ${t.dtype} tensor`);
  const typed = data instanceof Type ? data : Type.from(data);
  fs.writeFileSync(file, Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength));
  return {file, dtype: t.dtype, shape: t.shape};
}

// ---------------------------------------------------------------------------------------------
// Commands

const models = new Map();
let nextHandle = 1;

async function load(req) {
  const jsonPath = req.model_json;
  const model = await tfconv.loadGraphModel({load: async () => readModelArtifacts(jsonPath)});
  const handle = nextHandle++;
  models.set(handle, model);
  return {
    handle,
    inputs: model.inputs,
    outputs: model.outputs,
    input_nodes: model.inputNodes,
    output_nodes: model.outputNodes,
  };
}

function modelOf(req) {
  const model = models.get(req.handle);
  if (model == null) throw new Error(`no model with handle ${req.handle}`);
  return model;
}

async function execute(req) {
  const model = modelOf(req);
  const inputs = {};
  for (const [name, spec] of Object.entries(req.inputs)) inputs[name] = readTensor(spec);
  let results = [];
  try {
    const wanted = req.outputs == null ? model.outputNodes : req.outputs;
    const started = Date.now();
    const out = model.execute(inputs, wanted);
    const ms = Date.now() - started;
    results = Array.isArray(out) ? out : [out];
    const written = [];
    for (let i = 0; i < results.length; i++) {
      written.push(await writeTensor(results[i], `${req.prefix}.${i}.bin`));
    }
    return {names: wanted, outputs: written, ms};
  } finally {
    for (const t of Object.values(inputs)) t.dispose();
    for (const t of results) t.dispose();
  }
}

// The classifier's preprocessing as its JavaScript package does it on a decoded image.
async function classifyPreprocess(req) {
  const {image, height, width, size, prefix} = req;
  const bytes = fs.readFileSync(image);
  if (bytes.length !== height * width * 3) throw new Error(`${image}: expected ${height}*${width}*3 bytes`);
  const batched = tf.tidy(() => {
    const pixels = tf.tensor3d(Int32Array.from(bytes), [height, width, 3], 'int32');
    const normalized = tf.div(tf.cast(pixels, 'float32'), 255);
    let resized = normalized;
    if (height !== size || width !== size) {
      resized = tf.image.resizeBilinear(normalized, [size, size], true);
    }
    return tf.reshape(resized, [-1, size, size, 3]);
  });
  try {
    return {tensor: await writeTensor(batched, `${prefix}.input.bin`)};
  } finally {
    batched.dispose();
  }
}

function unload(req) {
  modelOf(req).dispose();
  models.delete(req.handle);
  return {};
}

function version() {
  return {
    tfjs_core: packageVersion('@tensorflow/tfjs-core'),
    tfjs_converter: packageVersion('@tensorflow/tfjs-converter'),
    tfjs_backend_cpu: packageVersion('@tensorflow/tfjs-backend-cpu'),
    node: process.version,
    backend: tf.getBackend(),
    num_tensors: tf.memory().numTensors,
  };
}

const COMMANDS = {version, load, execute, classify_preprocess: classifyPreprocess, unload};

serve(COMMANDS, async () => {
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
  await tf.ready();
});
