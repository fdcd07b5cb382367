#!/usr/bin/env node
/**
 * Long-lived worker that runs @tensorflow-models/pose-detection 2.1.3 (MoveNet, BlazePose with
 * `runtime: 'tfjs'`) on TF.js 4.22.0: the reference for posenet.movenet and posenet.blazepose.
 *
 * Usage: node run_posedetection.js [cpu|wasm]   (the backend; cpu by default). The wasm binaries
 * are read from the installed npm package on disk, never fetched.
 *
 * Protocol: one JSON request per line on stdin, one JSON reply per line on stdout, in order.
 * Every reply carries the request's `id` and `ok`; failures reply {"ok": false, "error": text}
 * and the worker keeps running. Logs go to stderr only.
 *
 * Commands (see tests/reference_posedetection.py for the Python client):
 *   version  -> versions of pose-detection, tfjs-core, -converter, -backend-cpu, -wasm, node; backend
 *   create   -> {"model" ("MoveNet" | "BlazePose", default MoveNet), "config"}:
 *               poseDetection.createDetector(model, config); model URLs in the config are URLs on
 *               127.0.0.1 (served by the client); replies {"handle"}
 *   estimate -> {"handle", "image" (raw RGB bytes file), "height", "width", "flip",
 *               "timestamp" (ms) | null, "mask" (a file path) | null}: estimatePoses(int32
 *               tensor3d, {flipHorizontal}, ts); replies {"poses"} as the library returns them
 *               (a pose's `segmentation` replaced by {"height", "width"} after its mask's red
 *               channel is written to `mask` as raw float32, row-major), and "crop": where the
 *               next call crops (MoveNet single pose: cropRegion; BlazePose: regionOfInterest;
 *               null: none yet)
 *   time     -> {"handle", "image", "height", "width", "repeats", "warmup"}: runs estimatePoses
 *               warmup + repeats times on the same image (no timestamp, one stream) and replies
 *               {"ms": [per call], "poses": the number of poses the last call found}
 *   reset    -> {"handle"}: detector.reset()
 *   dispose  -> {"handle"}: detector.dispose()
 */
'use strict';

const fs = require('fs');
const path = require('path');
const {serve} = require('../node-worker-loop'); // the JSON-lines loop (Node built-ins only)

console.log = console.info = console.debug = console.warn = (...args) => console.error(...args);

const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-converter');
require('@tensorflow/tfjs-backend-cpu');
const wasmBackend = require('@tensorflow/tfjs-backend-wasm');
const poseDetection = require('@tensorflow-models/pose-detection');

const WASM_DIR = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
wasmBackend.setWasmPaths(WASM_DIR + path.sep);
const BACKEND = process.argv[2] || 'cpu';
const MODELS = {MoveNet: poseDetection.SupportedModels.MoveNet, BlazePose: poseDetection.SupportedModels.BlazePose};

function packageVersion(name) {
  const pkgDir = path.dirname(require.resolve(name)).split(path.sep + 'dist')[0];
  return JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
}

const detectors = new Map();
let nextHandle = 1;

function detectorOf(req) {
  const detector = detectors.get(req.handle);
  if (detector == null) throw new Error(`no detector ${req.handle}`);
  return detector;
}

async function version() {
  return {
    pose_detection: packageVersion('@tensorflow-models/pose-detection'),
    tfjs_core: packageVersion('@tensorflow/tfjs-core'),
    tfjs_converter: packageVersion('@tensorflow/tfjs-converter'),
    tfjs_backend_cpu: packageVersion('@tensorflow/tfjs-backend-cpu'),
    tfjs_backend_wasm: packageVersion('@tensorflow/tfjs-backend-wasm'),
    node: process.version,
    backend: tf.getBackend(),
  };
}

async function create(req) {
  const model = MODELS[req.model || 'MoveNet'];
  if (model == null) throw new Error(`unknown model ${JSON.stringify(req.model)}: use MoveNet or BlazePose`);
  const detector = await poseDetection.createDetector(model, req.config);
  const handle = nextHandle++;
  detectors.set(handle, detector);
  return {handle};
}

function readImage(req) {
  const bytes = fs.readFileSync(req.image);
  if (bytes.length !== req.height * req.width * 3) throw new Error('image file size does not match its shape');
  return tf.tensor3d(Int32Array.from(bytes), [req.height, req.width, 3], 'int32');
}

async function maskToFile(pose, file) {
  // The RGBA mask's red channel is the probability (the other channels are padding).
  const rgba = await pose.segmentation.mask.toTensor();
  const [height, width] = rgba.shape;
  const red = tf.tidy(() => tf.squeeze(tf.slice(rgba, [0, 0, 0], [height, width, 1]), [2]));
  const values = await red.data();
  red.dispose();
  rgba.dispose();
  if (file != null) fs.writeFileSync(file, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
  return {height, width};
}

async function estimate(req) {
  const detector = detectorOf(req);
  const image = readImage(req);
  try {
    const timestamp = req.timestamp == null ? undefined : req.timestamp;
    const poses = await detector.estimatePoses(image, {flipHorizontal: Boolean(req.flip)}, timestamp);
    for (const pose of poses) {
      if (pose.segmentation != null) pose.segmentation = await maskToFile(pose, req.mask);
    }
    // Where the next call crops (internal state, for the parity tests): MoveNet's single-pose
    // cropRegion, BlazePose's regionOfInterest.
    const crop = detector.cropRegion != null ? detector.cropRegion
      : (detector.regionOfInterest != null ? detector.regionOfInterest : null);
    return {poses, crop, num_tensors: tf.memory().numTensors};
  } finally {
    image.dispose();
  }
}

async function time(req) {
  const detector = detectorOf(req);
  const image = readImage(req);
  const ms = [];
  let found = 0;
  try {
    for (let i = 0; i < (req.warmup || 0) + req.repeats; i++) {
      const start = process.hrtime.bigint();
      const poses = await detector.estimatePoses(image, {flipHorizontal: false});
      for (const pose of poses) {
        if (pose.segmentation != null) await maskToFile(pose, null);
      }
      const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
      if (i >= (req.warmup || 0)) ms.push(elapsed);
      found = poses.length;
    }
    return {ms, poses: found};
  } finally {
    image.dispose();
  }
}

async function reset(req) {
  detectorOf(req).reset();
  return {};
}

async function dispose(req) {
  detectorOf(req).dispose();
  detectors.delete(req.handle);
  return {};
}

const COMMANDS = {version, create, estimate, time, reset, dispose};

serve(COMMANDS, async () => {
  if (BACKEND !== 'cpu' && BACKEND !== 'wasm') throw new Error(`unknown backend ${BACKEND}: use cpu or wasm`);
  if (!(await tf.setBackend(BACKEND))) throw new Error(`the ${BACKEND} backend failed to initialise`);
  await tf.ready();
});
