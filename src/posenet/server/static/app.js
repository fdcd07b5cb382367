// posenet-py page: webcam frames go to the server over a WebSocket, a dropped photo
// over POST /v1/poses; poses are drawn over the picture on one canvas. No dependencies.
"use strict";

(() => {
  // Presets, keypoint names and skeleton edges come from the service (GET /v1/models or
  // the stream's ready message), so the page always matches the library.
  const COLORS = ["#00ffff", "#ff4fd8", "#ffd23f", "#7cff4f", "#ff8c3f", "#9d8cff"];
  const MAX_IN_FLIGHT = 2;        // one being processed, one waiting on the server
  const CAPTURE_MAX_WIDTH = 640;  // frames are downscaled to this width before sending

  const $ = (id) => document.getElementById(id);
  const canvas = $("output");
  const ctx = canvas.getContext("2d");
  const video = $("video");
  const stage = $("stage");
  const capture = document.createElement("canvas");
  const captureCtx = capture.getContext("2d");

  // Everything a test (or a curious user) may want to read, on window.
  const stats = window.posenetStats = {
    source: "none", framesSent: 0, framesAnswered: 0, framesDropped: 0, errors: 0,
    posesReceived: 0, lastPoseCount: 0, drawnFrames: 0, drawnPoses: 0, drawnKeypoints: 0,
    lastLatencyMs: null, lastServerMs: null, fps: 0, lastResult: null, lastError: null,
    lastDrawnKeypoints: 0, preset: null, options: null, model: null, lastModel: null, drawn3d: 0,
  };

  // What the service says: presets by name, the default one, the models offered and
  // each one's info (keypoint names, skeleton) once known.
  const catalog = { presets: null, defaultPreset: null, defaultModel: null, models: {}, modelList: null };
  const view3d = new window.PoseView3D($("view3d"));

  const state = {
    source: "none", stream: null, ws: null, wsReady: false, inFlight: new Map(),
    sentSeq: 0, encoding: false, result: null, resultSize: null, photo: null, mirror: true,
    answerTimes: [], rafId: 0, photoRequest: 0, active: null,
  };

  // ------------------------------------------------------------------ controls

  // Sliders holding a pose option: element id -> option name and digits shown.
  const SLIDERS = {
    "max-detections": ["max_detections", 0], "score-threshold": ["score_threshold", 2],
    "nms-radius": ["nms_radius", 0], "min-pose": ["min_pose_score", 2], "min-part": ["min_part_score", 2],
  };

  function controls() {
    return {
      model: $("model-select").value,
      preset: $("preset").value,
      mode: document.querySelector('input[name="mode"]:checked').value,
      input_resolution: $("input-resolution").value,
      mirror: $("mirror").checked,
      showVideo: $("show-video").checked,
    };
  }

  // The options sent: the preset and mode, and every slider (set from the preset, then
  // moved by the user). The service answers with the options it resolved.
  function serverOptions() {
    const c = controls();
    const opts = {
      preset: c.preset, mode: c.mode, input_resolution: c.input_resolution,
      flip_horizontal: state.source === "camera" && c.mirror,
    };
    if (!c.preset) delete opts.preset;  // the catalog has not arrived: the service's default
    if (c.model) opts.model = c.model;
    for (const [id, [name]] of Object.entries(SLIDERS)) opts[name] = Number($(id).value);
    return opts;
  }

  // Sliders take the preset's values for the mode (as the reference demo does when
  // switching algorithm).
  function applyPreset() {
    const c = controls();
    const preset = catalog.presets && catalog.presets[c.preset];
    if (!preset) return;
    const values = preset[c.mode];
    for (const [id, [name]] of Object.entries(SLIDERS)) {
      const v = values[name];
      if (v === undefined || v === null) continue;
      const el = $(id);
      if (v > Number(el.max)) el.max = v;  // a range input would clamp it
      if (v < Number(el.min)) el.min = v;
      el.value = v;
    }
    $("preset-description").textContent = preset.description;
  }

  // The model selector: the models GET /v1/models offers, the default one selected.
  function applyModels(list, defaultModel) {
    if (!list || catalog.modelList) return;
    catalog.modelList = list;
    catalog.defaultModel = defaultModel;
    for (const m of list) if (m.info) catalog.models[m.name] = m.info;
    const select = $("model-select");
    select.replaceChildren(...list.map((m) => {
      const option = new Option(m.name, m.name, false, m.name === defaultModel);
      option.title = m.description || "";
      return option;
    }));
    select.value = defaultModel;
    showModel(catalog.models[defaultModel]);
  }

  function rememberModel(name, info) {
    if (name && info) catalog.models[name] = info;
    if (name === controls().model || !controls().model) showModel(info);
  }

  // A model chosen on the page: its info (skeleton) first, then the new estimates.
  async function onModelChanged() {
    const name = controls().model;
    if (!catalog.models[name]) {
      setStatus(`Loading ${name}…`);
      try {
        const r = await fetch(`/v1/models/${encodeURIComponent(name)}`);
        const body = await r.json();
        if (!r.ok) { setStatus(`Server: ${describe(body.detail)} (${r.status})`, true); return; }
        catalog.models[name] = body;
      } catch (err) {
        setStatus(`Cannot load ${name}: ${err.message}`, true);
        return;
      }
      if (controls().model !== name) return;  // chosen again meanwhile
    }
    showModel(catalog.models[name]);
    onOptionsChanged();
  }

  function applyCatalog(presets, defaultPreset, info, name) {
    if (info) rememberModel(name || catalog.defaultModel, info);
    if (!presets || catalog.presets) return;
    catalog.presets = presets;
    catalog.defaultPreset = defaultPreset;
    const select = $("preset");
    select.replaceChildren(...Object.values(presets).map((p) => {
      const option = new Option(p.name, p.name, false, p.name === defaultPreset);
      option.title = p.description;
      return option;
    }));
    select.value = defaultPreset;
    applyPreset();
    showOutputs();
  }

  function setActive(options, preset, model) {
    state.active = stats.options = options;
    stats.preset = preset;
    if (model) stats.model = model;
  }

  function showOutputs() {
    for (const [id, [, digits]] of Object.entries(SLIDERS)) {
      $(id + "-out").textContent = Number($(id).value).toFixed(digits);
    }
    document.body.classList.toggle("hidden-multi", controls().mode !== "multi");
  }

  function onOptionsChanged() {
    showOutputs();
    if (state.source === "camera") sendOptions();
    else if (state.source === "photo") estimatePhoto();
  }

  for (const el of document.querySelectorAll("input, select")) {
    if (el.id === "photo" || el.id === "preset" || el.id === "model-select" || el.name === "mode") continue;
    el.addEventListener("input", onOptionsChanged);
  }
  $("model-select").addEventListener("change", onModelChanged);
  for (const el of [$("preset"), ...document.querySelectorAll('input[name="mode"]')]) {
    el.addEventListener("change", () => { applyPreset(); onOptionsChanged(); });
  }

  function setStatus(text, isError = false) {
    const el = $("status");
    el.textContent = text;
    el.classList.toggle("error", isError);
    if (isError) { stats.errors += 1; stats.lastError = text; }
  }

  // ------------------------------------------------------------------ camera

  async function startCamera() {
    stopAll();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      setStatus("This browser gives no camera here (the page must be on localhost or https).", true);
      return;
    }
    setStatus("Opening the camera…");
    try {
      state.stream = await navigator.mediaDevices.getUserMedia({
        audio: false, video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" },
      });
    } catch (err) {
      setStatus(`Camera refused: ${err.message || err.name}`, true);
      return;
    }
    video.srcObject = state.stream;
    await video.play().catch(() => {});
    if (!video.videoWidth) await new Promise((r) => video.addEventListener("loadedmetadata", r, { once: true }));
    state.source = stats.source = "camera";
    $("mirror").checked = true;
    $("camera-start").disabled = true;
    $("camera-stop").disabled = false;
    $("drop-hint").classList.add("hidden");
    openSocket();
    loop();
  }

  function openSocket() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${proto}://${location.host}/v1/stream`);
    ws.binaryType = "arraybuffer";
    state.ws = ws;
    state.inFlight.clear();
    state.sentSeq = 0;
    state.lastStamp = 0;
    state.encoding = false;
    ws.onopen = () => setStatus("Connected; streaming frames.");
    ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
    ws.onclose = (ev) => {
      if (state.ws !== ws) return;
      state.wsReady = false;
      if (state.source !== "camera") return;
      const why = ev.reason ? `: ${ev.reason}` : "";
      if (ev.code === 1008) {  // refused (origin, options): retrying cannot help
        setStatus(`Connection refused (${ev.code}${why})`, true);
        return;
      }
      const delay = ev.code === 1013 ? 3000 : 1000;  // 1013: too many streams open, try later
      setStatus(`Connection closed (${ev.code}${why}); reconnecting…`, true);
      setTimeout(() => { if (state.source === "camera" && state.ws === ws) openSocket(); }, delay);
    };
  }

  function sendOptions() {
    if (state.ws && state.wsReady) state.ws.send(JSON.stringify({ type: "options", ...serverOptions() }));
  }

  function onMessage(msg) {
    if (msg.type === "ready") {
      state.wsReady = true;
      applyCatalog(msg.presets, msg.default_preset, msg.model, msg.model_name);
      setActive(msg.options, msg.preset, msg.model_name);
      sendOptions();
    } else if (msg.type === "options") {
      rememberModel(msg.model_name, msg.model);
      setActive(msg.options, msg.preset, msg.model_name);
    } else if (msg.type === "poses") {
      const sent = state.inFlight.get(msg.frame);
      state.inFlight.delete(msg.frame);
      for (const seq of state.inFlight.keys()) if (seq < msg.frame) state.inFlight.delete(seq);
      const now = performance.now();
      if (sent !== undefined) stats.lastLatencyMs = now - sent;
      acceptResult(msg, now);
    } else if (msg.type === "dropped") {
      state.inFlight.delete(msg.frame);
      stats.framesDropped += 1;
      $("dropped").textContent = String(stats.framesDropped);
    } else if (msg.type === "error") {
      if (msg.frame !== undefined) state.inFlight.delete(msg.frame);
      setStatus(`Server: ${describe(msg.detail)} (${msg.status})`, true);
    }
  }

  function acceptResult(result, now) {
    state.result = result;
    state.resultSize = { width: result.width, height: result.height };
    stats.framesAnswered += 1;
    stats.lastPoseCount = result.poses.length;
    stats.posesReceived += result.poses.length;
    stats.lastServerMs = result.timing ? result.timing.total_ms : null;
    stats.lastResult = result;
    stats.lastModel = result.model || null;
    state.answerTimes.push(now);
    while (state.answerTimes.length && now - state.answerTimes[0] > 2000) state.answerTimes.shift();
    const span = state.answerTimes.length > 1 ? now - state.answerTimes[0] : 0;
    stats.fps = span > 0 ? ((state.answerTimes.length - 1) * 1000) / span : 0;
    updateReadout();
  }

  function sendFrame() {
    const ws = state.ws;
    if (!ws || !state.wsReady || ws.readyState !== WebSocket.OPEN) return;
    if (state.encoding || state.inFlight.size >= MAX_IN_FLIGHT || ws.bufferedAmount > 0) return;
    if (!video.videoWidth) return;
    const scale = Math.min(1, CAPTURE_MAX_WIDTH / video.videoWidth);
    capture.width = Math.round(video.videoWidth * scale);
    capture.height = Math.round(video.videoHeight * scale);
    captureCtx.drawImage(video, 0, 0, capture.width, capture.height);
    const t0 = performance.now();
    state.encoding = true;
    capture.toBlob((blob) => {
      state.encoding = false;
      if (state.ws !== ws || ws.readyState !== WebSocket.OPEN || !blob) return;
      const seq = ++state.sentSeq;  // the server numbers binary messages the same way
      state.inFlight.set(seq, t0);
      // The frame's capture time, for models that smooth over time (milliseconds, increasing).
      state.lastStamp = Math.max(t0, (state.lastStamp || 0) + 0.001);
      ws.send(JSON.stringify({ type: "frame", timestamp_ms: state.lastStamp }));
      ws.send(blob);
      stats.framesSent += 1;
    }, "image/jpeg", 0.85);
  }

  function loop() {
    cancelAnimationFrame(state.rafId);
    const tick = () => {
      if (state.source !== "camera") return;
      sendFrame();
      drawCamera();
      state.rafId = requestAnimationFrame(tick);
    };
    state.rafId = requestAnimationFrame(tick);
  }

  function stopAll() {
    cancelAnimationFrame(state.rafId);
    if (state.ws) { const ws = state.ws; state.ws = null; ws.close(); }
    state.wsReady = false;
    if (state.stream) { for (const t of state.stream.getTracks()) t.stop(); state.stream = null; }
    video.srcObject = null;
    state.source = stats.source = "none";
    state.result = null;
    state.inFlight.clear();
    state.answerTimes = [];
    $("camera-start").disabled = false;
    $("camera-stop").disabled = true;
  }

  // ------------------------------------------------------------------ photos

  async function loadPhoto(file) {
    if (!file) return;
    stopAll();
    let bitmap;
    try {
      bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch (err) {
      setStatus(`Cannot open ${file.name}: not an image this browser reads.`, true);
      return;
    }
    state.photo = { file, bitmap };
    state.source = stats.source = "photo";
    $("mirror").checked = false;
    $("drop-hint").classList.add("hidden");
    state.result = null;
    drawPhoto();
    estimatePhoto();
  }

  async function estimatePhoto() {
    if (!state.photo) return;
    const id = ++state.photoRequest;
    const opts = serverOptions();
    setActive(opts, opts.preset, opts.model);
    const query = new URLSearchParams(Object.entries(opts).map(([k, v]) => [k, String(v)]));
    const file = state.photo.file;
    setStatus(`Estimating ${file.name}…`);
    const t0 = performance.now();
    let response;
    try {
      response = await fetch(`/v1/poses?${query}`, {
        method: "POST", body: file, headers: { "Content-Type": file.type || "application/octet-stream" },
      });
    } catch (err) {
      setStatus(`Request failed: ${err.message}`, true);
      return;
    }
    const body = await response.json().catch(() => ({}));
    if (id !== state.photoRequest || state.source !== "photo") return;
    if (!response.ok) {
      setStatus(`Server: ${describe(body.detail)} (${response.status})`, true);
      return;
    }
    stats.framesSent += 1;
    stats.lastLatencyMs = performance.now() - t0;
    acceptResult(body, performance.now());
    setStatus(`${file.name}: ${body.width}×${body.height}, ${body.poses.length} pose(s).`);
    drawPhoto();
  }

  $("photo").addEventListener("change", (ev) => loadPhoto(ev.target.files[0]));
  stage.addEventListener("dragover", (ev) => { ev.preventDefault(); stage.classList.add("dragover"); });
  stage.addEventListener("dragleave", () => stage.classList.remove("dragover"));
  stage.addEventListener("drop", (ev) => {
    ev.preventDefault();
    stage.classList.remove("dragover");
    const file = ev.dataTransfer && ev.dataTransfer.files[0];
    if (file) loadPhoto(file);
  });
  $("camera-start").addEventListener("click", startCamera);
  $("camera-stop").addEventListener("click", () => { stopAll(); setStatus("Stopped."); drawIdle(); });

  // ------------------------------------------------------------------ drawing

  function fitCanvas(width, height) {
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
  }

  function drawCamera() {
    const w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) return;
    fitCanvas(w, h);
    const c = controls();
    ctx.save();
    if (c.showVideo) {
      if (c.mirror) { ctx.translate(w, 0); ctx.scale(-1, 1); }
      ctx.drawImage(video, 0, 0, w, h);
    } else {
      ctx.fillStyle = "#000";
      ctx.fillRect(0, 0, w, h);
    }
    ctx.restore();
    drawPoses(w, h);
  }

  function drawPhoto() {
    if (!state.photo) return;
    const { bitmap } = state.photo;
    fitCanvas(bitmap.width, bitmap.height);
    const c = controls();
    if (c.showVideo) ctx.drawImage(bitmap, 0, 0);
    else { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, bitmap.width, bitmap.height); }
    drawPoses(bitmap.width, bitmap.height);
  }

  function drawIdle() {
    fitCanvas(640, 360);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    $("drop-hint").classList.remove("hidden");
  }

  function drawPoses(w, h) {
    const result = state.result;
    stats.drawnFrames += 1;
    if (!result || !state.resultSize) return;
    // The service already dropped poses under min_pose_score; keypoints are drawn from
    // min_part_score of the options in force.
    const minPart = state.active && state.active.min_part_score !== undefined ? state.active.min_part_score : 0;
    // Poses are in the pixels of the image the server saw; scale to the canvas.
    const sx = w / state.resultSize.width, sy = h / state.resultSize.height;
    const unit = Math.max(2, Math.round(Math.min(w, h) / 180));
    // The skeleton of the model that found these poses (each family has its own).
    const info = catalog.models[result.model || catalog.defaultModel] || {};
    const names = info.keypoint_names || [], skeleton = info.skeleton || [];
    let drawn = 0, keypoints = 0;
    result.poses.forEach((pose, i) => {
      const color = COLORS[i % COLORS.length];
      const kp = pose.keypoints.map(point);
      const byName = new Map(kp.map((k) => [k.name, k]));
      // skeleton edges are indices into the keypoint names (the keypoints' order)
      const at = (j) => (kp[j] && kp[j].name === names[j] ? kp[j] : byName.get(names[j]));
      const ok = (k) => k && k.score !== null && k.score >= minPart && k.x !== null && k.y !== null;
      ctx.strokeStyle = color;
      ctx.lineWidth = unit;
      ctx.lineCap = "round";
      for (const edge of skeleton) {
        const [a, b] = edge.map(at);
        if (!ok(a) || !ok(b)) continue;
        ctx.beginPath();
        ctx.moveTo(a.x * sx, a.y * sy);
        ctx.lineTo(b.x * sx, b.y * sy);
        ctx.stroke();
      }
      ctx.fillStyle = color;
      for (const k of kp) {
        if (!ok(k)) continue;
        ctx.beginPath();
        ctx.arc(k.x * sx, k.y * sy, unit * 1.6, 0, 2 * Math.PI);
        ctx.fill();
        keypoints += 1;
      }
      drawn += 1;
    });
    stats.drawnPoses += drawn;
    stats.drawnKeypoints += keypoints;
    stats.lastDrawnKeypoints = keypoints;
    $("pose-count").textContent = `${drawn} / ${result.poses.length}`;
    draw3d(result, skeleton, minPart);
  }

  // A keypoint in either JSON shape: PoseNet's {part, score, position: {x, y}} or
  // pose-detection's {name, score, x, y} (MoveNet, BlazePose).
  function point(k) {
    const p = k.position || k;
    return { name: k.part !== undefined ? k.part : k.name, score: k.score, x: p.x, y: p.y };
  }

  // The first pose with keypoints3D (BlazePose, metres) in the 3D view; hidden otherwise.
  function draw3d(result, skeleton, minPart) {
    const pose = result.poses.find((p) => Array.isArray(p.keypoints3D) && p.keypoints3D.length);
    $("view3d-box").classList.toggle("hidden", !pose);
    if (!pose) { stats.drawn3d = 0; return; }
    view3d.show(pose.keypoints3D, skeleton, minPart);
    stats.drawn3d = view3d.drawn;
  }

  // ------------------------------------------------------------------ readout

  function updateReadout() {
    $("fps").textContent = stats.fps ? stats.fps.toFixed(1) : "–";
    $("latency").textContent = stats.lastLatencyMs !== null ? `${stats.lastLatencyMs.toFixed(0)} ms` : "–";
    $("server-ms").textContent = stats.lastServerMs !== null ? `${stats.lastServerMs.toFixed(1)} ms` : "–";
  }

  function describe(detail) {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) return detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
    return JSON.stringify(detail);
  }

  function showModel(info) {
    if (!info) return;
    const r = info.input_resolution;
    $("model").textContent = `${info.name || info.family}` +
      (info.output_stride ? ` · stride ${info.output_stride}` : "") + (r ? ` · ${r.width}×${r.height}` : "") +
      ` · ${(info.keypoint_names || []).length} keypoints` + (info.engine ? ` · ${info.engine}` : "");
  }

  fetch("/v1/models").then((r) => r.json())
    .then((m) => {
      applyModels(m.models || [{ name: m.default_model, info: m.loaded }], m.default_model);
      applyCatalog(m.presets, m.default_preset, m.loaded, m.default_model);
    })
    .catch(() => setStatus("Cannot read /v1/models: the presets are unknown.", true));
  showOutputs();
  drawIdle();
})();
