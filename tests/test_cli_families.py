"""The command line with the other model families: their configuration flags (generated
from the families' configuration types), drawing with the model's skeleton, ``--mask``,
and ``posenet video`` feeding a stateful model the frame times."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from PIL import Image

import posenet
from posenet.cli import build_parser, main
from posenet.cli._args import family_fields
from posenet.draw import draw_poses
from posenet.serialize import poses_to_json

BLAZEPOSE = "blazepose-lite"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _detector(name: str, **fields) -> posenet.PoseModel:
    if name not in posenet.FAMILIES:
        pytest.skip(f"{name} is not registered")
    try:
        return posenet.create_detector(name, **fields)
    except (OSError, ValueError, posenet.PoseNetError) as exc:  # pragma: no cover - no shared data
        pytest.skip(f"{name} unavailable: {exc}")


def _parse(*argv: str) -> argparse.Namespace:
    from posenet.cli._args import resolve

    args = build_parser().parse_args(["image", "x.jpg", *argv])
    resolve(args)
    return args


def test_every_simple_field_of_a_family_config_has_a_flag():
    extra = family_fields()
    if "blazepose-full" in posenet.FAMILIES:
        assert "enable_segmentation" in extra and set(extra["enable_segmentation"][1]) >= {"blazepose-full"}
    assert extra["enable_smoothing"][0] is bool and "movenet-lightning" in extra["enable_smoothing"][1]
    assert "min_pose_score" not in extra  # taken by the pose option of that name
    assert "model_type" not in extra  # the family's name says it
    args = _parse("--model", "movenet-lightning", "--no-enable-smoothing", "--multi-pose-max-dimension", "320")
    assert args.model_config.enable_smoothing is False and args.model_config.multi_pose_max_dimension == 320
    assert _parse("--model", "movenet-lightning").model_config == posenet.FAMILIES["movenet-lightning"].config_type()


def test_a_flag_of_another_family_is_a_usage_error(capsys, photos_dir):
    code, _, err = run(capsys, "image", photos_dir / "tfpose__p1.jpg", "--enable-smoothing")
    assert code == 2 and "--model posenet does not take --enable-smoothing" in err
    code, _, err = run(capsys, "image", photos_dir / "tfpose__p1.jpg", "--model", "movenet-lightning",
                       "--tracker-type", "nearest")
    assert code == 2 and "nearest" in err  # the configuration's own check


def test_mask_is_the_models_segmentation_as_grayscale_png(capsys, photos_dir, tmp_path):
    model = _detector(BLAZEPOSE, enable_segmentation=True)
    photo = photos_dir / "tfpose__p1.jpg"
    code, _, err = run(capsys, "image", photo, "--model", BLAZEPOSE, "--enable-segmentation",
                       "--mask", tmp_path / "mask.png", "--json", tmp_path / "poses.json")
    assert code == 0, err
    mask = Image.open(tmp_path / "mask.png")
    image = posenet.decode_image(photo)
    assert mask.mode == "L" and mask.size == (image.shape[1], image.shape[0])
    (pose,) = model.estimate(image)
    expected = np.round(np.clip(pose.segmentation, 0, 1) * 255).astype(np.uint8)
    assert np.array_equal(np.asarray(mask), expected)
    assert 0.05 < (np.asarray(mask) > 127).mean() < 0.6  # a person, not the whole picture
    record = json.loads((tmp_path / "poses.json").read_text())[str(photo)]
    assert len(record["poses"][0]["keypoints"]) == 33 and len(record["poses"][0]["keypoints3D"]) == 33
    # several images: a folder of <name>-mask.png
    other = photos_dir / "tfpose__p2.jpg"
    assert run(capsys, "image", photo, other, "--model", BLAZEPOSE, "--enable-segmentation",
               "--mask", tmp_path / "masks")[0] == 0
    assert sorted(p.name for p in (tmp_path / "masks").iterdir()) == ["tfpose__p1-mask.png", "tfpose__p2-mask.png"]
    # never over an existing file without --overwrite
    code, _, err = run(capsys, "image", photo, "--model", BLAZEPOSE, "--enable-segmentation", "--mask",
                       tmp_path / "mask.png")
    assert code == 1 and "--overwrite" in err


def test_mask_without_a_model_that_gives_one_is_a_usage_error(capsys, models_dir, photos_dir, tmp_path):
    photo = photos_dir / "tfpose__p1.jpg"
    code, _, err = run(capsys, "image", photo, "--mask", tmp_path / "m.png")
    assert code == 2 and "--model posenet gives no segmentation mask" in err and "--enable-segmentation" in err
    if BLAZEPOSE in posenet.FAMILIES:
        code, _, err = run(capsys, "image", photo, "--model", BLAZEPOSE, "--mask", tmp_path / "m.png")
        assert code == 2 and "only with --enable-segmentation" in err
    code, _, err = run(capsys, "image", photo, "--mask", tmp_path / "m.jpg")
    assert code == 2 and ".png" in err
    assert not list(tmp_path.iterdir())


def test_annotated_copy_uses_the_models_skeleton(capsys, photos_dir, tmp_path):
    """A 33-point BlazePose pose is drawn with BlazePose's skeleton from model.info()."""
    model = _detector(BLAZEPOSE)
    photo = photos_dir / "skimage__astronaut.png"  # PNG in, PNG out: compared exactly
    assert run(capsys, "image", photo, "--model", BLAZEPOSE, "--out", tmp_path)[0] == 0
    image = posenet.decode_image(photo)
    poses = model.estimate(image, posenet.pose_options("camera", mode="single"))
    options = posenet.pose_options("camera", mode="single")
    expected = draw_poses(image, poses, options.min_part_score, options.min_pose_score,
                          skeleton=model.info().skeleton)
    assert np.array_equal(np.asarray(Image.open(tmp_path / photo.name).convert("RGB")), expected)
    assert not np.array_equal(expected, draw_poses(image, poses, options.min_part_score, options.min_pose_score))


def test_video_gives_a_movenet_its_frame_times(capsys, video_dir, tmp_path):
    """``posenet video --model movenet-lightning``: the poses of the detector fed frame by
    frame with each frame's time (its crop and filters follow the video)."""
    pytest.importorskip("cv2")
    pytest.importorskip("av")
    from posenet.video import VideoReader

    model = _detector("movenet-lightning")
    video = video_dir / "mmaction2__test_video_structuralize.mp4"
    out = tmp_path / "out.jsonl"
    code, _, err = run(capsys, "video", video, "--model", "movenet-lightning", "--end", "0.3", "--json", out,
                       "--out", tmp_path / "out.mp4")
    assert code == 0, err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    with VideoReader(video, end_s=0.3) as reader:
        frames = [(f.image, f.time_s) for f in reader]
    options = posenet.pose_options("camera", mode="single")
    expected = [poses_to_json(model.estimate(image, options, timestamp_ms=t * 1000.0)) for image, t in frames]
    assert [line["poses"] for line in lines] == expected
    assert (tmp_path / "out.mp4").stat().st_size > 1000
