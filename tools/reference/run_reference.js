#!/usr/bin/env node
/**
 * Long-lived worker that runs the real @tensorflow-models/posenet 2.2.2 on TensorFlow.js 3.21.0.
 *
 * Protocol: one JSON request per line on stdin, one JSON reply per line on stdout, in order.
 * Every reply carries the request's `id` and `ok`; failures reply {"ok": false, "error": text}
 * and the worker keeps running. Logs go to stderr only (console.log is redirected there so that
 * library chatter cannot corrupt the protocol stream).
 *
 * Commands (see tests/reference.py for the Python client):
 *   version  -> versions of posenet, tfjs-core, converter, backends, node; backend in use and
 *               the number of live tensors
 *   load     -> posenet.load({architecture, outputStride, inputResolution, multiplier, quantBytes,
 *               modelUrl}) on the requested backend; models are read from local files only
 *   estimate -> estimateSinglePose / estimateMultiplePoses on raw RGB bytes read from a file;
 *               with raw=true also writes the network outputs as little-endian float32 files
 *   bench    -> per-call wall time (ms) of tensor creation + estimate + dispose
 */
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');
const {fileURLToPath} = require('url');

// Must happen before the libraries are loaded: stdout belongs to the protocol.
const protocolOut = process.stdout;
console.log = console.info = console.debug = (...args) => console.error(...args);

const tf = require('@tensorflow/tfjs-core');
const tfconv = require('@tensorflow/tfjs-converter');
const cpuBackend = require('@tensorflow/tfjs-backend-cpu');
const wasmBackend = require('@tensorflow/tfjs-backend-wasm');
const posenet = require('@tensorflow-models/posenet');
// Deep import, as the reference itself uses it (not exported from the package root).
const posenetUtil = require('@tensorflow-models/posenet/dist/util');

// The wasm binaries are read from the installed npm package on disk, never fetched.
const WASM_DIR = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
wasmBackend.setWasmPaths(WASM_DIR + path.sep);

function packageVersion(name) {
  const pkgDir = path.dirname(require.resolve(name)).split(path.sep + 'dist')[0];
  return JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
}

// ---------------------------------------------------------------------------------------------
// Local model loading: a tfjs IO load router for file:// URLs and absolute paths to a .json file.

function localModelPath(url) {
  if (typeof url !== 'string') return null;
  if (url.startsWith('file://')) return fileURLToPath(url);
  if (path.isAbsolute(url) && url.endsWith('.json')) return url;
  return null;
}

function readModelArtifacts(jsonPath) {
  let modelJson;
  try {
    modelJson = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read model JSON ${jsonPath}: ${e.message}`);
  }
  if (modelJson.modelTopology == null) {
    throw new Error(`${jsonPath} has no modelTopology: not a tfjs graph model`);
  }
  const dir = path.dirname(jsonPath);
  const weightSpecs = [];
  const buffers = [];
  for (const group of modelJson.weightsManifest || []) {
    weightSpecs.push(...group.weights);
    for (const shard of group.paths) {
      const shardPath = path.join(dir, shard);
      if (!fs.existsSync(shardPath)) {
        throw new Error(`weight shard ${shardPath} named in ${jsonPath} is missing`);
      }
      buffers.push(fs.readFileSync(shardPath));
    }
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return {
    modelTopology: modelJson.modelTopology,
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy,
    signature: modelJson.signature,
    userDefinedMetadata: modelJson.userDefinedMetadata,
    modelInitializer: modelJson.modelInitializer,
    weightSpecs,
    weightData,
  };
}

tf.io.registerLoadRouter((url) => {
  const jsonPath = localModelPath(url);
  return jsonPath == null ? null : {load: async () => readModelArtifacts(jsonPath)};
});

// ---------------------------------------------------------------------------------------------
// State: one loaded model at a time.

let net = null;
let netBackend = null;

async function useBackend(name) {
  if (name !== 'cpu' && name !== 'wasm') {
    throw new Error(`unknown backend ${JSON.stringify(name)}: use "cpu" or "wasm"`);
  }
  if (tf.getBackend() !== name) {
    if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`);
  }
  await tf.ready();
}

function disposeNet() {
  if (net != null) net.dispose();
  net = null;
  netBackend = null;
}

// Copies only the keys the request actually carries, so that omitted options fall back to the
// reference's own defaults (null and undefined are treated as "omitted").
function pick(req, mapping) {
  const out = {};
  for (const [from, to] of Object.entries(mapping)) {
    if (req[from] !== undefined && req[from] !== null) out[to] = req[from];
  }
  return out;
}

function readRgb(req) {
  const {image, height, width} = req;
  if (typeof image !== 'string') throw new Error('request needs "image": path of a raw RGB file');
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 0 || width < 0) {
    throw new Error(`"height" and "width" must be non-negative integers, got ${height}x${width}`);
  }
  const bytes = fs.readFileSync(image);
  if (bytes.length !== height * width * 3) {
    throw new Error(`${image} holds ${bytes.length} bytes, expected ${height}*${width}*3 = ${height * width * 3}`);
  }
  return bytes;
}

function inferenceConfig(req) {
  if (req.mode === 'single') return pick(req, {flip_horizontal: 'flipHorizontal'});
  if (req.mode === 'multi') {
    return pick(req, {
      flip_horizontal: 'flipHorizontal',
      max_detections: 'maxDetections',
      score_threshold: 'scoreThreshold',
      nms_radius: 'nmsRadius',
    });
  }
  throw new Error(`unknown mode ${JSON.stringify(req.mode)}: use "single" or "multi"`);
}

function requireNet() {
  if (net == null) throw new Error('no model loaded: send a "load" request first');
}

// Pixels -> tensor -> poses, as a user holding an RGB buffer would call the reference.
async function runEstimate(bytes, height, width, mode, config) {
  const input = tf.tensor3d(Int32Array.from(bytes), [height, width, 3], 'int32');
  try {
    if (mode === 'single') return [await net.estimateSinglePose(input, config)];
    return await net.estimateMultiplePoses(input, config);
  } finally {
    input.dispose();
  }
}

// The network outputs exactly as the reference computes them (padAndResizeTo + baseModel.predict).
async function writeRaw(bytes, height, width, prefix) {
  const input = tf.tensor3d(Int32Array.from(bytes), [height, width, 3], 'int32');
  const {resized, padding} = posenetUtil.padAndResizeTo(input, net.inputResolution);
  const outputs = net.baseModel.predict(resized);
  const tensors = {
    input: resized,
    heatmap: outputs.heatmapScores,
    offsets: outputs.offsets,
    displacement_fwd: outputs.displacementFwd,
    displacement_bwd: outputs.displacementBwd,
  };
  const shapes = {};
  try {
    for (const [name, t] of Object.entries(tensors)) {
      const data = await t.data();
      const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
      const buf = Buffer.alloc(f32.length * 4);
      for (let i = 0; i < f32.length; i++) buf.writeFloatLE(f32[i], i * 4);
      fs.writeFileSync(`${prefix}.${name}.f32`, buf);
      shapes[name] = t.shape;
    }
  } finally {
    input.dispose();
    for (const t of Object.values(tensors)) t.dispose();
  }
  return {shapes, padding};
}

// ---------------------------------------------------------------------------------------------
// Commands

const commands = {
  async version() {
    return {
      posenet: posenet.version,
      tfjs_core: tf.version_core,
      tfjs_converter: tfconv.version_converter,
      tfjs_backend_cpu: cpuBackend.version_cpu,
      tfjs_backend_wasm: wasmBackend.version_wasm,
      posenet_package: packageVersion('@tensorflow-models/posenet'),
      backend: tf.getBackend(),
      node: process.version,
      num_tensors: tf.memory().numTensors,
    };
  },

  async load(req) {
    const modelUrl = req.model_json;
    if (typeof modelUrl !== 'string' || localModelPath(modelUrl) == null) {
      throw new Error('"model_json" must be an absolute path or file:// URL of a model JSON file');
    }
    disposeNet();
    const backend = req.backend == null ? 'cpu' : req.backend;
    await useBackend(backend);
    const config = pick(req, {
      architecture: 'architecture',
      output_stride: 'outputStride',
      input_resolution: 'inputResolution',
      multiplier: 'multiplier',
      quant_bytes: 'quantBytes',
    });
    config.modelUrl = modelUrl;
    net = await posenet.load(config);
    netBackend = backend;
    if (backend === 'wasm' && config.architecture === 'ResNet50') {
      // XNNPACK rejects the 1x1 stride-2 shortcut MaxPools of the ResNet graphs
      // ("XNN status for xnn_create_max_pooling2d_nhwc_f32 is not successful"): outputs are wrong.
      console.error('warning: ResNet50 on the wasm backend gives wrong outputs in tfjs 3.21; use cpu');
    }
    return {input_resolution: net.inputResolution, output_stride: net.baseModel.outputStride, backend};
  },

  async estimate(req) {
    requireNet();
    const bytes = readRgb(req);
    const config = inferenceConfig(req);
    await useBackend(netBackend);
    const poses = await runEstimate(bytes, req.height, req.width, req.mode, config);
    const reply = {poses};
    if (req.raw) {
      if (typeof req.raw_prefix !== 'string') throw new Error('"raw": true needs "raw_prefix"');
      Object.assign(reply, await writeRaw(bytes, req.height, req.width, req.raw_prefix));
    }
    reply.num_tensors = tf.memory().numTensors;
    return reply;
  },

  async bench(req) {
    requireNet();
    const bytes = readRgb(req);
    const config = inferenceConfig(req);
    await useBackend(netBackend);
    const warmup = req.warmup == null ? 3 : req.warmup;
    const iterations = req.iterations == null ? 20 : req.iterations;
    for (let i = 0; i < warmup; i++) await runEstimate(bytes, req.height, req.width, req.mode, config);
    const ms = [];
    for (let i = 0; i < iterations; i++) {
      const t0 = process.hrtime.bigint();
      await runEstimate(bytes, req.height, req.width, req.mode, config);
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return {ms, backend: netBackend, num_tensors: tf.memory().numTensors};
  },
};

function errorText(e) {
  if (e instanceof Error) return e.message;
  if (e && typeof e.message === 'string') return e.message;
  return String(e);
}

async function handle(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    return {id: null, ok: false, error: `bad request (not JSON): ${e.message}`};
  }
  const id = req && req.id !== undefined ? req.id : null;
  const command = req && commands[req.cmd];
  if (typeof command !== 'function' || !Object.prototype.hasOwnProperty.call(commands, req.cmd)) {
    return {id, ok: false, error: `unknown cmd ${JSON.stringify(req && req.cmd)}`};
  }
  try {
    return {id, ok: true, ...(await command(req))};
  } catch (e) {
    return {id, ok: false, error: errorText(e)};
  }
}

function main() {
  process.on('unhandledRejection', (e) => console.error('unhandled rejection:', e));
  const rl = readline.createInterface({input: process.stdin, crlfDelay: Infinity});
  // Requests run strictly one after another. Start on cpu: left alone, tfjs would pick wasm (its
  // highest-priority backend), whose asynchronous initialisation synchronous calls cannot wait for.
  let queue = useBackend('cpu').catch((e) => console.error('cannot initialise the cpu backend:', e));
  rl.on('line', (line) => {
    if (!line.trim()) return;
    queue = queue.then(async () => {
      const reply = await handle(line);
      protocolOut.write(JSON.stringify(reply) + '\n');
    });
  });
  rl.on('close', () => queue.then(() => {
    disposeNet();
    process.exit(0);
  }));
  console.error(`run_reference.js ready (posenet ${posenet.version}, tfjs-core ${tf.version_core})`);
}

main();
