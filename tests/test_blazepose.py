"""BlazePose unit tests: configuration, pipeline stages, result shape and detector state (fast; the
parity with pose-detection 2.1.3 itself is in test_blazepose_parity.py)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import posenet
from posenet.blazepose import (
    COCO_INDICES,
    COCO_KEYPOINT_NAMES,
    FAMILY_CONFIGS,
    KEYPOINT_NAMES,
    SKELETON,
    BlazePose,
    BlazePoseConfig,
    BlazePosePose,
    Rect,
)
from posenet.blazepose.detection import Detection, create_ssd_anchors, non_max_suppression
from posenet.blazepose.filters import (
    KeypointsSmoothingFilter,
    LowPassVisibilityFilter,
    OneEuroSettings,
    RelativeVelocityFilter,
    VelocitySettings,
)
from posenet.blazepose.landmarks import refine_from_heatmap, tensors_to_landmarks
from posenet.blazepose.pose import make_pose
from posenet.blazepose.segmentation import smooth_segmentation
from posenet.blazepose.warp import inverse_matrix, rotated_subrect_matrix, transform_bilinear
from posenet.families import FAMILIES
from posenet.keypoints import PART_NAMES
from posenet.runtime import load_graph_model
from posenet.serialize import pose_to_json


@pytest.fixture(scope="module")
def blazepose_dir(shared_dir: Path) -> Path:
    folder = shared_dir / "models" / "blazepose"
    if not (folder / "blazepose-lite.json").is_file():
        pytest.skip(f"{folder} has no BlazePose models")
    return folder


@pytest.fixture(scope="module")
def lite(blazepose_dir: Path) -> BlazePose:
    detector = posenet.create_detector("blazepose-lite", num_threads=1)
    assert isinstance(detector, BlazePose)
    return detector


# -- configuration ---------------------------------------------------------------------------------

def test_config_defaults_follow_the_reference() -> None:
    config = BlazePoseConfig()
    assert (config.model_type, config.enable_smoothing, config.enable_segmentation, config.smooth_segmentation) == (
        "full", True, False, True)
    assert {kind: cls().model_type for kind, cls in FAMILY_CONFIGS.items()} == {
        "lite": "lite", "full": "full", "heavy": "heavy"}


@pytest.mark.parametrize(("fields", "message"), [
    ({"model_type": "medium"}, "Model type must be one of lite, full or heavy,but got medium"),
    ({"enable_smoothing": 1}, "Invalid enableSmoothing 1. Should be true or false"),
    ({"enable_segmentation": "yes"}, "Invalid enableSegmentation 'yes'. Should be true or false"),
    ({"smooth_segmentation": None}, "Invalid smoothSegmentation None. Should be true or false"),
    ({"engine": "tflite"}, "Invalid engine 'tflite'. BlazePose runs on: auto, onnxruntime."),
    ({"num_threads": 0}, "Invalid num_threads 0. Should be a positive integer or None."),
    ({"num_threads": True}, "Invalid num_threads True. Should be a positive integer or None."),
])
def test_config_validation_messages(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as info:
        BlazePoseConfig(**fields)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_model_paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shared_dir: Path) -> None:
    """Urls win; else the named files in the folder setting (checksum-checked), else the cache and a
    download; without any, the error says what to set."""
    config = FAMILY_CONFIGS["heavy"](detector_model_url="d.json", landmark_model_url="l.json")
    assert config.model_paths() == ("d.json", "l.json")
    folder = shared_dir / "models" / "blazepose"
    monkeypatch.setenv("POSENET_BLAZEPOSE_DIR", str(folder))
    assert FAMILY_CONFIGS["lite"]().model_paths() == (str(folder / "blazepose-detector.json"),
                                                     str(folder / "blazepose-lite.json"))
    assert BlazePoseConfig(landmark_model_url="l.json").model_paths() == (
        str(folder / "blazepose-detector.json"), "l.json")
    monkeypatch.delenv("POSENET_BLAZEPOSE_DIR")
    monkeypatch.setenv("POSENET_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("POSENET_GRAPH_MODELS_BASE_URL", "http://127.0.0.1:9/")
    with pytest.raises(ValueError, match="POSENET_BLAZEPOSE_DIR"):
        BlazePoseConfig().model_paths()


def test_families_are_registered() -> None:
    for kind in ("lite", "full", "heavy"):
        family = FAMILIES[f"blazepose-{kind}"]
        assert family.config_type is FAMILY_CONFIGS[kind]
        assert family.config_type().model_type == kind
    with pytest.raises(ValueError, match="takes a LiteConfig"):
        posenet.create_detector("blazepose-lite", config=BlazePoseConfig())


def test_keypoint_names_skeleton_and_coco_mapping() -> None:
    assert len(KEYPOINT_NAMES) == 33 and KEYPOINT_NAMES[0] == "nose" and KEYPOINT_NAMES[32] == "right_foot_index"
    assert len(SKELETON) == 36 and all(0 <= a < 33 and 0 <= b < 33 for a, b in SKELETON)
    assert len(COCO_KEYPOINT_NAMES) == 17
    assert all(KEYPOINT_NAMES[i] == name for name, i in COCO_KEYPOINT_NAMES.items())
    camel = [p.replace("left", "left_").replace("right", "right_").lower() for p in PART_NAMES]
    assert list(COCO_KEYPOINT_NAMES) == camel  # COCO order
    assert COCO_INDICES == (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)


# -- stages ----------------------------------------------------------------------------------------

def test_anchors_match_the_detector_output(blazepose_dir: Path) -> None:
    anchors = create_ssd_anchors()
    detector = load_graph_model(blazepose_dir / "blazepose-detector.json")
    assert anchors.shape == (detector.outputs[0].shape[1], 4) == (2254, 4)
    assert anchors[0].tolist() == [0.5 / 28, 0.5 / 28, 1.0, 1.0] == anchors[1].tolist()
    assert anchors[1568].tolist() == [0.5 / 14, 0.5 / 14, 1.0, 1.0]
    assert anchors[-1].tolist() == [6.5 / 7, 6.5 / 7, 1.0, 1.0]


def test_transform_identity_and_constant_fill() -> None:
    image = np.arange(4 * 5 * 3, dtype=np.float32).reshape(4, 5, 3)
    for arithmetic in ("float32", "float64"):
        same = transform_bilinear(image, [1, 0, 0, 0, 1, 0, 0, 0], (4, 5), arithmetic)
        np.testing.assert_array_equal(same, image)
        shifted = transform_bilinear(image, [1, 0, 0.5, 0, 1, -2, 0, 0], (4, 5), arithmetic)
        assert np.all(shifted[:2] == 0)  # outside the image: fill 0
        np.testing.assert_array_equal(shifted[2, -1], image[0, -1] / 2)  # half the weight on the fill
        assert shifted[2, 0, 0] == pytest.approx((image[0, 0, 0] + image[0, 1, 0]) / 2)


def test_inverse_matrix() -> None:
    matrix = rotated_subrect_matrix(Rect(120.0, 80.0, 60.0, 90.0, 0.4), 300, 200)
    product = np.array(matrix) @ np.array(inverse_matrix(matrix))
    np.testing.assert_allclose(product, np.eye(4), atol=1e-12)


def test_tensors_to_landmarks_and_heatmap_refinement() -> None:
    raw = np.zeros((39, 5), np.float32)
    raw[:, :3] = [128.0, 64.0, 32.0]
    raw[:, 3] = 0.0
    landmarks = tensors_to_landmarks(raw.reshape(1, -1), 256)
    assert landmarks[0].tolist() == [0.5, 0.25, 0.125, 0.5]
    heatmap = np.zeros((1, 64, 64, 39), np.float32)
    heatmap[0, 17, 34, 0] = 1.0  # a peak one cell right and one down of landmark 0's cell (32, 16)
    refined = refine_from_heatmap(landmarks, heatmap)
    assert refined[0, :2].tolist() == [34 / 64, 17 / 64]
    assert refined[1:].tolist() == landmarks[1:].tolist()  # windows without a confident peak stay


def test_non_max_suppression_keeps_the_best() -> None:
    def det(score: float, box: tuple[float, float, float, float]) -> Detection:
        return Detection(score, box, np.zeros((4, 2)), 0)

    a, b, c = det(0.6, (0, 0, 1, 1)), det(0.9, (0, 0.1, 1, 1.1)), det(0.7, (2, 2, 3, 3))
    assert non_max_suppression([a, b, c], 1, 0.3) == [b]
    assert non_max_suppression([a, b, c], 3, 0.3) == [b, c]


def test_segmentation_smoothing_blends_uncertain_pixels() -> None:
    previous = np.array([1.0, 1.0, 0.0], np.float32)
    current = np.array([0.5, 1.0, 0.5], np.float32)
    blended = smooth_segmentation(previous, current)
    assert blended.dtype == np.float32
    assert blended[0] == pytest.approx(0.5 + 0.5 * 0.7) and blended[1] == 1.0 and blended[2] == pytest.approx(0.15)


def test_filters() -> None:
    visibility = LowPassVisibilityFilter(0.1)
    points = np.array([[0.0, 0.0, 0.0, 1.0]])
    assert visibility.apply(points)[0, 3] == 1.0
    assert visibility.apply(np.array([[0.0, 0.0, 0.0, 0.0]]))[0, 3] == pytest.approx(0.9)
    velocity = RelativeVelocityFilter(VelocitySettings())
    assert velocity.apply(1.0, 0, 1.0) == 1.0
    assert velocity.apply(2.0, 0, 1.0) == 2.0  # same time: returned as is
    assert 1.0 < velocity.apply(2.0, 33_333, 1.0) < 2.0
    smoothing = KeypointsSmoothingFilter(OneEuroSettings(min_cut_off=0.05, beta=80))
    first = smoothing.apply(np.array([[0.5, 0.5, 0.01, 1.0]]), 0, (100, 200), True, (0.5, 1.0))
    assert first[0, :2].tolist() == [0.5, 0.5]
    assert first[0, 2] == pytest.approx(0.01 * 200)  # the reference leaves z scaled after smoothing


def test_pose_json_shape() -> None:
    points = np.tile([10.0, 20.0, -3.0, 0.9], (33, 1))
    world = np.tile([0.1, -0.2, 0.3, 0.9], (33, 1))
    pose = make_pose(0.99, points, world, KEYPOINT_NAMES, np.zeros((2, 3), np.float32))
    data = pose_to_json(pose)
    assert list(data) == ["score", "keypoints", "keypoints3D"]
    assert data["keypoints"][5] == {"x": 10.0, "y": 20.0, "z": -3.0, "score": 0.9, "name": "right_eye"}
    assert data["keypoints3D"][32] == {"x": 0.1, "y": -0.2, "z": 0.3, "score": 0.9, "name": "right_foot_index"}
    assert list(pose.to_json(track_id=4)) == ["track_id", "score", "keypoints", "keypoints3D"]
    assert pose["left_heel"].part == "left_heel" and pose[0].part == "nose"
    moved = pose.with_xy(np.ones((33, 2)))
    assert isinstance(moved, BlazePosePose) and moved.z[0] == -3.0 and moved.segmentation is pose.segmentation


# -- the detector ----------------------------------------------------------------------------------

def test_info(lite: BlazePose) -> None:
    info = lite.info()
    assert (info.family, info.name, info.input_size, info.model_file) == (
        "blazepose", "blazepose-lite", (256, 256), "blazepose-lite.json")
    assert info.keypoint_names == KEYPOINT_NAMES and info.skeleton == SKELETON


def test_no_person_gives_no_pose(lite: BlazePose) -> None:
    lite.reset()
    assert lite.estimate(np.zeros((240, 320, 3), np.uint8)) == []
    assert lite.region_of_interest is None


def test_person_pose_roi_and_reset(lite: BlazePose, photo_paths: list[Path]) -> None:
    photo = next(p for p in photo_paths if p.name == "tfpose__p1.jpg")
    lite.reset()
    (pose,) = lite.estimate(photo)
    assert isinstance(pose, BlazePosePose) and pose.segmentation is None
    assert 0.5 <= pose.score <= 1 and len(pose.keypoints) == len(pose.keypoints3d) == 33
    roi = lite.region_of_interest
    assert roi is not None and 0 < roi.x_center < 1 and roi.width > 0
    assert abs(pose.keypoints3d[23].x + pose.keypoints3d[24].x) < 0.05  # world origin between the hips

    def no_detector(image: np.ndarray) -> list[Detection]:
        raise AssertionError("the detector ran although an ROI was known")

    lite.detect = no_detector  # type: ignore[method-assign]
    try:
        (again,) = lite.estimate(photo, flip_horizontal=True)  # the ROI path; flip is ignored
    finally:
        del lite.detect
    assert np.abs(again.xy - pose.xy).max() < 5
    lite.reset()
    assert lite.region_of_interest is None
    batch = lite.estimate_batch([photo, photo])
    assert [len(b) for b in batch] == [1, 1] and lite.region_of_interest is None
    assert batch[0][0].xy.tolist() == batch[1][0].xy.tolist() == pose.xy.tolist()


def test_timestamps_smooth_the_stream(lite: BlazePose, photo_paths: list[Path]) -> None:
    photo = next(p for p in photo_paths if p.name == "tfpose__p2.jpg")
    lite.reset()
    still = [lite.estimate(photo)[0] for _ in range(2)]
    lite.reset()
    stream = [lite.estimate(photo, timestamp_ms=t)[0] for t in (1000.0, 1033.3)]  # (the filters skip time 0)
    assert stream[0].xy.tolist() == still[0].xy.tolist()
    assert stream[1].xy.tolist() != still[1].xy.tolist()
    assert stream[1].scores.tolist() != still[1].scores.tolist()  # the visibility filter
    lite.reset()


def test_segmentation_mask(blazepose_dir: Path, photo_paths: list[Path]) -> None:
    detector = posenet.create_detector("blazepose-lite", enable_segmentation=True, num_threads=1)
    photo = next(p for p in photo_paths if p.name == "tfpose__p1.jpg")
    rgb = posenet.images.to_rgb_array(photo)
    (pose,) = detector.estimate(rgb)
    mask = pose.segmentation
    assert mask is not None and mask.dtype == np.float32 and mask.shape == rgb.shape[:2]
    assert float(mask.min()) >= 0 and float(mask.max()) <= 1 and float(mask.max()) > 0.9
    hip = pose["left_hip"].position
    assert mask[int(hip.y), int(hip.x)] > 0.5 and not math.isnan(float(mask.mean()))
