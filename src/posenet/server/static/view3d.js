// posenet-py page: a small 3D view of a pose's keypoints3D (x, y, z in metres, the
// model's world frame: origin between the hips, y down as in the image), on a plain
// canvas. Drag to turn it (left/right: around the vertical axis, up/down: tilt).
"use strict";

window.PoseView3D = class PoseView3D {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.yaw = 0.6;     // radians around the vertical axis
    this.pitch = -0.25; // radians around the horizontal axis
    this.pose = null;
    this.skeleton = [];
    this.drawn = 0;     // keypoints drawn last time (read by tests)
    let last = null;
    canvas.addEventListener("pointerdown", (ev) => {
      last = [ev.clientX, ev.clientY];
      if (canvas.setPointerCapture) canvas.setPointerCapture(ev.pointerId);
    });
    canvas.addEventListener("pointermove", (ev) => {
      if (!last) return;
      this.yaw += (ev.clientX - last[0]) * 0.01;
      this.pitch = Math.max(-1.5, Math.min(1.5, this.pitch + (ev.clientY - last[1]) * 0.01));
      last = [ev.clientX, ev.clientY];
      this.draw();
    });
    const stop = () => { last = null; };
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
  }

  // points: [{x, y, z, score}] in metres; skeleton: [[i, j]] index pairs.
  show(points, skeleton, minScore) {
    this.pose = points;
    this.skeleton = skeleton || [];
    this.minScore = minScore || 0;
    this.draw();
  }

  project(p) {
    const cy = Math.cos(this.yaw), sy = Math.sin(this.yaw);
    const cp = Math.cos(this.pitch), sp = Math.sin(this.pitch);
    const x = cy * p.x + sy * p.z, z = -sy * p.x + cy * p.z;  // turn around y
    const y = cp * p.y - sp * z, depth = sp * p.y + cp * z;    // tilt around x
    const scale = Math.min(this.canvas.width, this.canvas.height) / 2.4;  // ~2.4 m across
    return [this.canvas.width / 2 + x * scale, this.canvas.height / 2 + y * scale, depth];
  }

  draw() {
    const { ctx, canvas } = this;
    ctx.fillStyle = "#111";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    this.drawGrid();
    this.drawn = 0;
    const pts = this.pose;
    if (!pts) return;
    const ok = (p) => p && p.x !== null && p.y !== null && p.z !== null && (p.score === null || p.score === undefined
      || p.score >= this.minScore);
    const xy = pts.map((p) => (ok(p) ? this.project(p) : null));
    ctx.strokeStyle = "#00ffff";
    ctx.lineWidth = 2;
    for (const [a, b] of this.skeleton) {
      if (!xy[a] || !xy[b]) continue;
      ctx.beginPath();
      ctx.moveTo(xy[a][0], xy[a][1]);
      ctx.lineTo(xy[b][0], xy[b][1]);
      ctx.stroke();
    }
    ctx.fillStyle = "#ffd23f";
    for (const q of xy) {
      if (!q) continue;
      ctx.beginPath();
      ctx.arc(q[0], q[1], 3, 0, 2 * Math.PI);
      ctx.fill();
      this.drawn += 1;
    }
  }

  drawGrid() {  // the floor's axes through the origin: x red, z blue, 1 m long
    const { ctx } = this;
    for (const [axis, color] of [[{ x: 1, y: 0, z: 0 }, "#a33"], [{ x: 0, y: 0, z: 1 }, "#36a"]]) {
      const a = this.project({ x: -axis.x, y: 0, z: -axis.z }), b = this.project(axis);
      ctx.strokeStyle = color;
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(a[0], a[1]);
      ctx.lineTo(b[0], b[1]);
      ctx.stroke();
    }
  }
};
