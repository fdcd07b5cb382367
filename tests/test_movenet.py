"""MoveNet without the reference: configuration, crop regions, filters, tracker, resamplers,
the family seam, the JSON shape, and a smoke run on a shared photo."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import posenet
from posenet.families import FAMILIES, create_detector
from posenet.movenet import Box, MoveNetConfig, MoveNetPose, TrackerConfig, multipose_input_size
from posenet.movenet.crop import init_crop_region, next_crop_region, torso_visible
from posenet.movenet.filters import KeypointsOneEuroFilter, LowPassFilter, OneEuroConfig, OneEuroFilter
from posenet.movenet.imageops import crop_and_resize, resize_bilinear, to_int32
from posenet.movenet.raw import KEYPOINT_NAMES, RawPose
from posenet.movenet.tracker import BoundingBoxTracker, KeypointTracker
from posenet.pose import Keypoint, Pose, Position
from posenet.serialize import pose_to_json


@pytest.fixture(scope="module")
def movenet_dir(shared_dir: Path) -> Path:
    folder = shared_dir / "models" / "movenet"
    if not (folder / "movenet-lightning.json").is_file():
        pytest.skip(f"{folder} has no MoveNet models")
    return folder


# -- configuration -------------------------------------------------------------------------------

def test_config_defaults_follow_the_reference() -> None:
    config = MoveNetConfig()
    assert config.model_type == "lightning" and config.reference_model_type == "SinglePose.Lightning"
    assert config.enable_smoothing and config.pose_score_floor == 0.25 and not config.tracking
    multi = MoveNetConfig(model_type="MultiPose.Lightning")
    assert multi.model_type == "multipose" and multi.tracking and multi.max_dimension == 256
    assert multi.tracker.min_similarity == 0.15
    assert MoveNetConfig(model_type="multipose", tracker_type="keypoint").tracker.min_similarity == 0.2
    assert MoveNetConfig(min_pose_score=0.0).pose_score_floor == 0.25  # the reference reads 0 as unset


@pytest.mark.parametrize(("fields", "message"), [
    ({"model_type": "SinglePose.Fast"}, "Invalid architecture SinglePose.Fast. Should be one of "
                                        "SinglePose.Lightning,SinglePose.Thunder,MultiPose.Lightning"),
    ({"min_pose_score": 1.5}, "minPoseScore should be between 0.0 and 1.0"),
    ({"multi_pose_max_dimension": 100}, "multiPoseMaxDimension must be a multiple of 32 and higher than 0"),
    ({"tracker_type": "iou"}, "Invalid trackerType"),
    ({"engine": "numpy"}, "Invalid engine"),
])
def test_config_validation_messages(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        MoveNetConfig(**fields)  # type: ignore[arg-type]


def test_tracker_config_validation() -> None:
    with pytest.raises(ValueError, match="'maxTracks' to be at least 1"):
        TrackerConfig(max_tracks=0)
    with pytest.raises(ValueError, match="'maxAge' to be positive"):
        TrackerConfig(max_age=0)


def test_model_path_needs_a_folder_or_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, movenet_dir: Path) -> None:
    """Without a folder setting, cache or reachable download the error says what to set; a folder
    holding the files is used (and checked against the published checksums)."""
    monkeypatch.delenv("POSENET_MOVENET_DIR", raising=False)
    monkeypatch.setenv("POSENET_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("POSENET_GRAPH_MODELS_BASE_URL", "http://127.0.0.1:9/")
    with pytest.raises(ValueError, match="POSENET_MOVENET_DIR"):
        MoveNetConfig().model_path()
    monkeypatch.setenv("POSENET_MOVENET_DIR", str(movenet_dir))
    assert MoveNetConfig(model_type="thunder").model_path() == str(movenet_dir / "movenet-thunder.json")


# -- crop regions, filters, tracker --------------------------------------------------------------

def test_init_crop_region() -> None:
    first = init_crop_region(True, 400, 200)  # landscape, first frame: the centred square
    assert (first.y_min, first.x_min, first.y_max, first.x_max) == (0.0, 0.25, 1.0, 0.75)
    later = init_crop_region(False, 400, 200)  # later: the image padded to a square
    assert (later.y_min, later.x_min, later.height, later.width) == (-0.5, 0.0, 2.0, 1.0)


def _pose(scores: float, ys: list[float] | None = None, xs: list[float] | None = None) -> RawPose:
    return RawPose(ys or [0.5] * 17, xs or [0.5] * 17, [scores] * 17, scores)


def test_next_crop_region_follows_the_torso() -> None:
    assert not torso_visible(_pose(0.1))
    ys = [0.3] * 5 + [0.4, 0.4] + [0.45] * 4 + [0.6, 0.6] + [0.7] * 4
    xs = [0.5] * 17
    xs[5], xs[6], xs[11], xs[12] = 0.45, 0.55, 0.46, 0.54
    box = next_crop_region(Box(0, 0, 1, 1), _pose(0.9, ys, xs), 100, 100)
    centre_y, centre_x = 60.0, 50.0
    half = max(20 * 1.9, 5 * 1.9, 30 * 1.2, 5 * 1.2)
    assert box.y_min == pytest.approx((centre_y - half) / 100) and box.x_max == pytest.approx((centre_x + half) / 100)
    assert next_crop_region(Box(0, 0, 1, 1), _pose(0.1), 100, 50) == init_crop_region(False, 100, 50)


def test_filters() -> None:
    low = LowPassFilter(0.9)
    assert low.apply(1.0) == 1.0 and low.apply(2.0) == pytest.approx(1.9)
    euro = OneEuroFilter(OneEuroConfig())
    assert euro.apply(5.0, 0, 1.0) == 5.0  # time 0 is not after the start: passed through
    assert euro.apply(5.0, 33333, 1.0) == 5.0  # the first filtered value
    moved = euro.apply(6.0, 66666, 1.0)
    assert 5.0 < moved <= 6.0
    assert euro.apply(7.0, 66666, 1.0) == 7.0  # the same time again: passed through
    keypoints = KeypointsOneEuroFilter()
    assert keypoints.apply([(1.0, 2.0)], math.nan) == [(1.0, 2.0)]


def test_trackers_assign_and_keep_ids() -> None:
    boxes = BoundingBoxTracker(TrackerConfig())
    a, b = _pose(0.9), _pose(0.9)
    a.box, b.box = Box(0, 0, 0.5, 0.5), Box(0.5, 0.5, 1, 1)
    boxes.apply([a, b], 0.0)
    assert (a.id, b.id) == (1, 2)
    c, d = _pose(0.9), _pose(0.9)
    c.box, d.box = Box(0.52, 0.5, 1, 1), Box(0.01, 0, 0.5, 0.5)
    boxes.apply([c, d], 33333.0)
    assert (c.id, d.id) == (2, 1)
    e = _pose(0.9)
    e.box = Box(0, 0, 0.5, 0.5)
    boxes.apply([e], math.nan)  # no timestamp: every old track is dropped, as in the reference
    assert e.id == 3
    points = KeypointTracker(TrackerConfig(min_similarity=0.2))
    p, q = _pose(0.9), _pose(0.9)
    points.apply([p], 0.0)
    points.apply([q], 1000.0)
    assert p.id == q.id == 1


# -- resamplers ----------------------------------------------------------------------------------

def test_crop_and_resize_identity_and_extrapolation() -> None:
    image = np.arange(4 * 5 * 3, dtype=np.int32).reshape(4, 5, 3)
    same = crop_and_resize(image, (0.0, 0.0, 1.0, 1.0), (4, 5))
    assert same.dtype == np.float32 and np.array_equal(same, image.astype(np.float32))
    padded = crop_and_resize(image, (-1.0, 0.0, 1.0, 1.0), (3, 5))
    assert np.all(padded[0] == 0) and np.array_equal(padded[2], image[3].astype(np.float32))


def test_resize_bilinear_and_cast() -> None:
    image = np.array([[0, 10], [20, 30]], dtype=np.int32)[:, :, None]
    out = resize_bilinear(image, (4, 4))[:, :, 0]
    assert out[0].tolist() == [0.0, 5.0, 10.0, 10.0] and out[:, 0].tolist() == [0.0, 10.0, 20.0, 20.0]
    assert to_int32(np.array([1.9, 2.0, 254.99], np.float32)).tolist() == [1, 2, 254]


def test_multipose_input_size() -> None:
    assert multipose_input_size(640, 480, 256) == ((192, 256), (192, 256))
    assert multipose_input_size(426, 240, 256) == ((144, 256), (160, 256))
    assert multipose_input_size(810, 1080, 256) == ((256, 192), (256, 192))
    assert multipose_input_size(100, 300, 256) == ((256, 85), (256, 96))


# -- family seam and JSON ------------------------------------------------------------------------

def test_families_are_registered() -> None:
    for kind in ("lightning", "thunder", "multipose"):
        family = FAMILIES[f"movenet-{kind}"]
        assert issubclass(family.config_type, MoveNetConfig) and family.config_type().model_type == kind


def test_the_cli_builds_the_family_configuration() -> None:
    from posenet.cli import build_parser
    from posenet.cli._args import resolve

    args = build_parser().parse_args(["image", "x.jpg", "--model", "movenet-multipose", "--threads", "2",
                                      "--model-url", "m.json"])
    resolve(args)
    config = args.model_config
    assert isinstance(config, MoveNetConfig) and config.model_type == "multipose"
    assert (config.num_threads, config.model_url, config.engine) == (2, "m.json", "auto")


def test_pose_json_shape_and_posenet_unchanged() -> None:
    keypoints = tuple(Keypoint(name, 0.5, Position(float(i), 2.0 * i)) for i, name in enumerate(KEYPOINT_NAMES))
    pose = MoveNetPose(0.7, keypoints, Box(0.1, 0.2, 0.5, 0.6), 4)
    data = pose_to_json(pose)
    assert list(data) == ["score", "box", "id", "keypoints"]
    assert data["keypoints"][1] == {"x": 1.0, "y": 2.0, "score": 0.5, "name": "left_eye"}
    assert data["box"]["width"] == pytest.approx(0.4) and pose["left_eye"].position.x == 1.0
    assert list(pose_to_json(pose, 9)) == ["track_id", "score", "box", "id", "keypoints"]
    assert isinstance(pose.with_xy(pose.xy + 1), MoveNetPose) and pose.with_xy(pose.xy).id == 4
    plain = Pose.from_arrays(0.5, np.zeros((17, 2)), np.ones(17))
    assert json.dumps(pose_to_json(plain)).startswith('{"score": 0.5, "keypoints": [{"score": 1.0, "part": "nose", '
                                                      '"position": {"x": 0.0, "y": 0.0}}')


# -- smoke run -----------------------------------------------------------------------------------

def test_estimate_on_a_photo(movenet_dir: Path, photo_paths: list[Path]) -> None:
    bus = next(p for p in photo_paths if p.name == "ultralytics__bus.jpg")
    single = create_detector("movenet-lightning", model_url=str(movenet_dir / "movenet-lightning.json"),
                             num_threads=1)
    assert isinstance(single, posenet.PoseModel) and single.info().family == "movenet"
    poses = single.estimate(bus)
    assert len(poses) == 1 and poses[0].box is None and poses[0].keypoints[0].part == "nose"  # type: ignore[attr-defined]
    multi = create_detector("movenet-multipose", model_url=str(movenet_dir / "movenet-multipose.json"),
                            num_threads=1)
    first, again = multi.estimate_batch([bus, bus])
    assert len(first) == 2 and [p.id for p in first] == [p.id for p in again] == [1, 2]  # type: ignore[attr-defined]
    assert multi.estimate(bus, min_pose_score=0.99) == []
