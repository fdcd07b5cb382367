#!/usr/bin/env node
/**
 * Long-lived worker that runs MoveNet with @tensorflow-models/pose-detection 2.1.3 on the TF.js
 * 4.22.0 cpu backend: the reference for posenet.movenet.
 *
 * Protocol: one JSON request per line on stdin, one JSON reply per line on stdout, in order.
 * Every reply carries the request's `id` and `ok`; failures reply {"ok": false, "error": text}
 * and the worker keeps running. Logs go to stderr only.
 *
 * Commands (see tests/reference_posedetection.py for the Python client):
 *   version  -> versions of pose-detection, tfjs-core, -converter, -backend-cpu, node; backend
 *   create   -> {"config"}: poseDetection.createDetector(MoveNet, config); config.modelUrl is a
 *               URL on 127.0.0.1 (served by the client); replies {"handle"}
 *   estimate -> {"handle", "image" (raw RGB bytes file), "height", "width", "flip",
 *               "timestamp" (ms) | null}: estimatePoses(int32 tensor3d, {flipHorizontal}, ts);
 *               replies {"poses"} exactly as the library returns them, and "crop": the
 *               single-pose crop region the next call will use (null: none yet)
 *   reset    -> {"handle"}: detector.reset()
 *   dispose  -> {"handle"}: detector.dispose()
 */
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');

const protocolOut = process.stdout;
console.log = console.info = console.debug = console.warn = (...args) => console.error(...args);

const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-converter');
require('@tensorflow/tfjs-backend-cpu');
const poseDetection = require('@tensorflow-models/pose-detection');

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
    node: process.version,
    backend: tf.getBackend(),
  };
}

async function create(req) {
  const detector = await poseDetection.createDetector(poseDetection.SupportedModels.MoveNet, req.config);
  const handle = nextHandle++;
  detectors.set(handle, detector);
  return {handle};
}

async function estimate(req) {
  const detector = detectorOf(req);
  const bytes = fs.readFileSync(req.image);
  if (bytes.length !== req.height * req.width * 3) throw new Error('image file size does not match its shape');
  const image = tf.tensor3d(Int32Array.from(bytes), [req.height, req.width, 3], 'int32');
  try {
    const timestamp = req.timestamp == null ? undefined : req.timestamp;
    const poses = await detector.estimatePoses(image, {flipHorizontal: Boolean(req.flip)}, timestamp);
    // The single-pose crop region the next call will use (internal state, for the parity tests).
    const crop = detector.cropRegion == null ? null : detector.cropRegion;
    return {poses, crop, num_tensors: tf.memory().numTensors};
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

const COMMANDS = {version, create, estimate, reset, dispose};

async function handle(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    return {id: null, ok: false, error: `request is not JSON: ${e.message}`};
  }
  const command = COMMANDS[req.cmd];
  if (command == null) return {id: req.id, ok: false, error: `unknown command ${JSON.stringify(req.cmd)}`};
  try {
    return {id: req.id, ok: true, ...(await command(req))};
  } catch (e) {
    return {id: req.id, ok: false, error: String(e && e.message ? e.message : e)};
  }
}

async function main() {
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
  await tf.ready();
  const rl = readline.createInterface({input: process.stdin, terminal: false});
  for await (const line of rl) {
    if (!line.trim()) continue;
    protocolOut.write(JSON.stringify(await handle(line)) + '\n');
  }
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
