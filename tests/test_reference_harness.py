"""Tests of the TensorFlow.js reference harness itself (tests/reference.py + tools/reference)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .reference import (
    ReferenceCallError,
    ReferenceWorker,
    ReferenceWorkerError,
    require_reference,
    write_random_resnet_checkpoint,
)

pytestmark = pytest.mark.reference

PARTS = [
    "nose", "leftEye", "rightEye", "leftEar", "rightEar", "leftShoulder", "rightShoulder",
    "leftElbow", "rightElbow", "leftWrist", "rightWrist", "leftHip", "rightHip", "leftKnee",
    "rightKnee", "leftAnkle", "rightAnkle",
]  # fmt: skip


@pytest.fixture(scope="module")
def worker():
    require_reference()
    with ReferenceWorker() as ref:
        yield ref


@pytest.fixture(scope="module")
def mobilenet_075(models_dir: Path) -> Path:
    return models_dir / "mobilenet" / "float" / "075" / "model-stride16.json"


@pytest.fixture(scope="module")
def photo(photos_dir: Path) -> np.ndarray:
    with Image.open(photos_dir / "tfpose__p1.jpg") as image:
        return np.asarray(image.convert("RGB"))


@pytest.fixture(scope="module")
def cpu_results(worker, mobilenet_075, photo):
    """MobileNetV1 0.75 stride 16 at 257 on the CPU backend: single (with raw outputs) and multi."""
    worker.load(mobilenet_075, "MobileNetV1", 16, 257, 0.75, 4, backend="cpu")
    tensors_after_load = worker.version()["num_tensors"]
    return {
        "single": worker.estimate(photo, "single", raw=True),
        "multi": worker.estimate(photo, "multi", score_threshold=0.3),
        "tensors_after_load": tensors_after_load,
    }


def assert_pose_shape(pose: dict) -> None:
    assert set(pose) == {"score", "keypoints"}
    assert [kp["part"] for kp in pose["keypoints"]] == PARTS
    for kp in pose["keypoints"]:
        assert set(kp) == {"score", "part", "position"}
        assert 0.0 <= kp["score"] <= 1.0
        assert math.isfinite(kp["position"]["x"]) and math.isfinite(kp["position"]["y"])


def test_versions_are_pinned(worker):
    versions = worker.version()
    assert versions["posenet"] == versions["posenet_package"] == "2.2.2"
    for key in ("tfjs_core", "tfjs_converter", "tfjs_backend_cpu", "tfjs_backend_wasm"):
        assert versions[key] == "3.21.0", key


def test_invalid_config_returns_reference_error_and_worker_survives(worker, mobilenet_075, photo):
    with pytest.raises(ReferenceCallError, match=r"^Invalid outputStride 7\. Should be one of 8,16,32"):
        worker.load(mobilenet_075, "MobileNetV1", 7, 257, 0.75)
    with pytest.raises(ReferenceCallError, match="Invalid multiplier 0.6"):
        worker.load(mobilenet_075, "MobileNetV1", 16, 257, 0.6)
    # Still alive and usable: a valid load and an estimate (wasm keeps it quick).
    assert worker.load(mobilenet_075, "MobileNetV1", 16, 200, 0.75, backend="wasm") == (193, 193)
    with pytest.raises(ReferenceCallError, match="Invalid maxDetections 0"):
        worker.estimate(photo, "multi", max_detections=0)
    (pose,) = worker.estimate(photo, "single")["poses"]
    assert_pose_shape(pose)


def test_single_pose_on_real_photo(cpu_results, photo):
    (pose,) = cpu_results["single"]["poses"]
    assert_pose_shape(pose)
    assert pose["score"] > 0.3
    assert pose["score"] == pytest.approx(sum(kp["score"] for kp in pose["keypoints"]) / 17)
    h, w = photo.shape[:2]
    nose = pose["keypoints"][0]["position"]
    assert 0 <= nose["x"] < w and 0 <= nose["y"] < h


def test_multi_pose_on_real_photo(cpu_results):
    poses = cpu_results["multi"]["poses"]
    assert 1 <= len(poses) <= 5
    for pose in poses:
        assert_pose_shape(pose)
    assert poses[0]["score"] > 0.3


def test_no_tensor_leak(cpu_results):
    after_load = cpu_results["tensors_after_load"]
    assert after_load == 62  # the MobileNet weights only
    assert cpu_results["single"]["num_tensors"] == after_load
    assert cpu_results["multi"]["num_tensors"] == after_load


def test_raw_outputs(cpu_results, photo):
    raw = cpu_results["single"]
    assert raw["heatmap_scores"].shape == (17, 17, 17)
    assert raw["offsets"].shape == (17, 17, 34)
    assert raw["displacement_fwd"].shape == (17, 17, 32)
    assert raw["displacement_bwd"].shape == (17, 17, 32)
    assert raw["resized_input"].shape == (257, 257, 3)
    for key in ("heatmap_scores", "offsets", "displacement_fwd", "displacement_bwd", "resized_input"):
        assert raw[key].dtype == np.float32 and np.isfinite(raw[key]).all(), key
    heat = raw["heatmap_scores"]
    assert heat.min() >= 0.0 and heat.max() <= 1.0
    # 232x217 photo: pad left/right by round(0.5 * (232 - 217)) = 8 (JS Math.round of 7.5).
    assert photo.shape[:2] == (232, 217)
    assert raw["padding"] == {"top": 0, "bottom": 0, "left": 8, "right": 8}
    # Single-pose decoding from the raw outputs reproduces the reference's keypoint scores.
    (pose,) = raw["poses"]
    flat = heat.reshape(-1, 17)
    np.testing.assert_array_equal(
        flat.max(axis=0), np.float32([kp["score"] for kp in pose["keypoints"]])
    )


def test_cpu_and_wasm_agree(worker, cpu_results, mobilenet_075, photo):
    worker.load(mobilenet_075, "MobileNetV1", 16, 257, 0.75, 4, backend="wasm")
    assert worker.version()["backend"] == "wasm"
    wasm = {
        "single": worker.estimate(photo, "single"),
        "multi": worker.estimate(photo, "multi", score_threshold=0.3),
    }
    for mode in ("single", "multi"):
        cpu_poses, wasm_poses = cpu_results[mode]["poses"], wasm[mode]["poses"]
        assert len(cpu_poses) == len(wasm_poses), mode
        for a, b in zip(cpu_poses, wasm_poses):
            assert abs(a["score"] - b["score"]) < 1e-3
            for ka, kb in zip(a["keypoints"], b["keypoints"]):
                assert ka["part"] == kb["part"]
                assert abs(ka["score"] - kb["score"]) < 1e-3
                assert abs(ka["position"]["x"] - kb["position"]["x"]) < 1e-3
                assert abs(ka["position"]["y"] - kb["position"]["y"]) < 1e-3


def test_bench_returns_timings(worker, mobilenet_075, photo):
    worker.load(mobilenet_075, "MobileNetV1", 16, 257, 0.75, backend="wasm")
    ms = worker.bench(photo, "single", warmup=1, iterations=3)
    assert len(ms) == 3 and all(t > 0 for t in ms)


def test_hung_worker_fails_instead_of_hanging(mobilenet_075, photo):
    require_reference()
    with ReferenceWorker() as ref:
        with pytest.raises(ReferenceCallError, match="no model loaded"):
            ref.estimate(photo, "single")
        ref.load(mobilenet_075, "MobileNetV1", 16, 257, 0.75, backend="wasm")
        with pytest.raises(ReferenceWorkerError, match="no reply to 'bench' within"):
            ref.bench(photo, warmup=0, iterations=1000, timeout=0.2)
        with pytest.raises(ReferenceWorkerError, match="not running"):
            ref.version()


# -- ResNet50 with generated weights ---------------------------------------------------------


@pytest.fixture(scope="module")
def resnet_dir(models_dir: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("resnet50")
    for stride in (16, 32):
        graph = models_dir / "resnet50-graphs" / "float" / f"model-stride{stride}.json"
        write_random_resnet_checkpoint(graph, out, seed=0)
    return out


def test_random_resnet_checkpoint_layout(resnet_dir: Path, models_dir: Path):
    import json

    written = json.loads((resnet_dir / "model-stride16.json").read_text())
    original = json.loads((models_dir / "resnet50-graphs/float/model-stride16.json").read_text())
    assert written["modelTopology"] == original["modelTopology"]
    (group,) = written["weightsManifest"]
    assert group["paths"] == ["group1-shard1of1.bin"]
    specs = group["weights"]
    assert [(w["name"], w["shape"], w["dtype"]) for w in specs] == [
        (w["name"], w["shape"], w["dtype"]) for w in original["weightsManifest"][0]["weights"]
    ]
    assert not any("quantization" in w for w in specs)
    data = (resnet_dir / "group1-shard1of1.bin").read_bytes()
    assert len(data) == 4 * sum(int(np.prod(w["shape"])) for w in specs)
    offset, paddings = 0, {}
    for w in specs:
        size = 4 * int(np.prod(w["shape"]))
        if w["dtype"] == "int32":
            paddings[w["name"]] = np.frombuffer(data[offset : offset + size], "<i4").reshape(4, 2)
        offset += size
    np.testing.assert_array_equal(paddings["resnet_v1_50/Pad/paddings"], [[0, 0], [3, 3], [3, 3], [0, 0]])
    np.testing.assert_array_equal(paddings["resnet_v1_50/Pad_1/paddings"], [[0, 0], [1, 1], [1, 1], [0, 0]])


@pytest.mark.parametrize("stride, grid", [(16, 5), (32, 3)])
def test_reference_runs_random_resnet(worker, resnet_dir: Path, photo, stride: int, grid: int):
    # CPU backend at a small input (ResNet50 on the tfjs CPU backend takes seconds per call).
    model = resnet_dir / f"model-stride{stride}.json"
    assert worker.load(model, "ResNet50", stride, 65, backend="cpu") == (65, 65)
    result = worker.estimate(photo, "multi", score_threshold=0.0, raw=True)
    assert 1 <= len(result["poses"]) <= 5
    for pose in result["poses"]:
        assert_pose_shape(pose)
    assert result["heatmap_scores"].shape == (grid, grid, 17)
    assert result["offsets"].shape == (grid, grid, 34)
    heat = result["heatmap_scores"]
    # O(1) activations: scores neither all saturated nor constant.
    assert 0.0 < heat.std() and 0.01 < heat.mean() < 0.99
    assert np.abs(result["offsets"]).max() < 100
    assert result["num_tensors"] == 116  # the ResNet weights only: no leak


def test_random_resnet_quantized_loads(worker, models_dir: Path, tmp_path: Path, photo):
    graph = models_dir / "resnet50-graphs" / "quant2" / "model-stride32.json"
    model = write_random_resnet_checkpoint(graph, tmp_path, seed=1, quant=2)
    worker.load(model, "ResNet50", 32, 33, quant_bytes=2, backend="cpu")
    (pose,) = worker.estimate(photo, "single")["poses"]
    assert_pose_shape(pose)
