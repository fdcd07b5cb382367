"""The `posenet` command end to end: real weights, photos, videos and COCO images."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import posenet
from posenet import checkpoints
from posenet import options as opts
from posenet.cli import build_parser, main
from posenet.families import FAMILIES
from posenet.serialize import poses_to_json

SMALL_VIDEO = "mmaction2__test_video_structuralize.mp4"
GT_NAME = "person_keypoints_train2017__cocomini.json"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def frame_count(path: Path) -> tuple[int, int, int, float]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.grab():
        n += 1
    size = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    info = (n, *size, cap.get(cv2.CAP_PROP_FPS))
    cap.release()
    return info


@pytest.fixture
def photo(photos_dir) -> Path:
    return photos_dir / "tfpose__p1.jpg"


@pytest.fixture
def video_extra() -> None:
    pytest.importorskip("cv2")


# ------------------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    "verb", [[], ["image"], ["video"], ["eval"], ["models"], ["models", "list"], ["models", "fetch"],
             ["models", "verify"], ["serve"]]
)
def test_every_verb_teaches_by_example(capsys, verb):
    code, out, _ = run(capsys, *verb, "--help")
    assert code == 0
    assert "examples:" in out and "posenet " in out


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["image"],
        ["frobnicate"],
        ["image", "x.jpg", "--multiplier", "0.6"],
        ["image", "x.jpg", "--output-stride", "32"],  # needs multiplier 1.0
        ["image", "x.jpg", "--architecture", "ResNet50", "--output-stride", "8"],
        ["image", "x.jpg", "--input-resolution", "big"],
        ["image", "x.jpg", "--min-part-confidence", "1.5"],
        ["video", "x.mp4", "--start", "2", "--end", "1"],
        ["video", "x.mp4", "--smooth-min-cutoff", "0"],
        ["video", "x.mp4", "--track-max-age", "-1"],
        ["image", "x.jpg", "--multi", "--nms-radius", "0"],
        ["models", "fetch", "no-such-model"],
        ["eval", "--images", "."],
    ],
)
def test_usage_errors_exit_2(capsys, argv):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "usage" in err or "error" in err


def test_an_unknown_preset_exits_2_naming_the_presets(capsys):
    for verb in (["image", "x.jpg"], ["video", "x.mp4"], ["eval", "--gt", "g.json", "--images", "."]):
        code, _, err = run(capsys, *verb, "--preset", "nope")
        assert code == 2 and "--preset" in err and "nope" in err
        assert all(repr(name) in err for name in opts.PRESETS)


def _group_actions(verb: str, title: str) -> dict[str, argparse.Action]:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    group = next(g for g in subparsers.choices[verb]._action_groups if g.title == title)
    return {a.option_strings[0]: a for a in group._group_actions}


@pytest.mark.parametrize("verb", ["image", "video", "eval", "serve"])
def test_model_option_choices_are_the_options_tables(verb):
    actions = _group_actions(verb, "model options")
    assert tuple(actions["--model"].choices) == tuple(FAMILIES) and actions["--model"].default == "posenet"
    assert tuple(actions["--architecture"].choices) == opts.ARCHITECTURES
    assert set(actions["--multiplier"].choices) == {m for ms in opts.VALID_MULTIPLIERS.values() for m in ms}
    assert set(actions["--output-stride"].choices) == {s for ss in opts.VALID_OUTPUT_STRIDES.values() for s in ss}
    assert tuple(actions["--quant-bytes"].choices) == opts.VALID_QUANT_BYTES
    assert tuple(actions["--engine"].choices) == opts.ENGINE_NAMES
    config = opts.ModelConfig()
    for flag, field in [("--architecture", "architecture"), ("--output-stride", "output_stride"),
                        ("--quant-bytes", "quant_bytes"), ("--engine", "engine"), ("--threads", "num_threads"),
                        ("--input-resolution", "input_resolution"), ("--tfjs-compat", "tfjs_compat")]:
        assert actions[flag].default == getattr(config, field), flag
    assert actions["--multiplier"].default is None  # the architecture's default


@pytest.mark.parametrize("verb", ["image", "video", "eval"])
def test_pose_options_come_from_the_specs_and_presets(verb):
    actions = _group_actions(verb, "pose options")
    assert tuple(actions["--preset"].choices) == tuple(opts.PRESETS)
    assert actions["--preset"].default == (opts.EVAL_PRESET if verb == "eval" else opts.DEFAULT_PRESET)
    assert all(f"{p.name}: {p.description}" in actions["--preset"].help for p in opts.PRESETS.values())
    dests = {a.dest for a in actions.values()}
    assert {s.name for s in opts.POSE_OPTION_SPECS} <= dests
    assert all(actions[f].default is None for f in ("--flip", "--max-detections", "--score-threshold",
                                                   "--nms-radius", "--min-pose-confidence", "--min-part-confidence"))
    assert actions["--min-pose-confidence"].dest == "min_pose_score"
    assert actions["--min-part-confidence"].dest == "min_part_score"
    assert ("--multi" in actions) == (verb != "eval")


def test_version_and_module_entry_point():
    done = subprocess.run([sys.executable, "-m", "posenet", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and posenet.__version__ in done.stdout


def test_core_import_pulls_in_no_extras():
    code = "import posenet, sys; print([m for m in ('cv2', 'tqdm', 'pycocotools') if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "[]"


# ------------------------------------------------------------------------------ image


def test_single_photo_json_on_stdout(capsys, models_dir, photo):
    code, out, err = run(capsys, "image", photo)
    assert code == 0
    data = json.loads(out)
    entry = data[str(photo)]
    w, h = Image.open(photo).size
    assert (entry["width"], entry["height"]) == (w, h)
    (pose,) = entry["poses"]
    assert pose["score"] >= 0.1
    assert [k["part"] for k in pose["keypoints"]] == list(posenet.PART_NAMES)
    assert set(pose["keypoints"][0]) == {"score", "part", "position"}
    assert posenet.Pose.from_dict(pose).score == pose["score"]
    assert "1 pose" in err


@pytest.fixture(scope="module")
def net(models_dir):
    return posenet.load()


def test_default_preset_gives_the_camera_demo_results(capsys, net, photos_dir):
    # what the command has always done: single = drop poses under 0.1; multi = 5 poses from
    # parts of 0.1, NMS 30, drop poses under 0.15
    crowd = photos_dir / "ultralytics__zidane.jpg"
    single = [p for p in [net.estimate_single_pose(crowd)] if p.score >= 0.1]
    multi = [p for p in net.estimate_multiple_poses(crowd, max_detections=5, score_threshold=0.1, nms_radius=30)
             if p.score >= 0.15]
    code, out, _ = run(capsys, "image", crowd)
    assert code == 0 and json.loads(out)[str(crowd)]["poses"] == poses_to_json(single)
    code, out, _ = run(capsys, "image", crowd, "--multi")
    assert code == 0 and json.loads(out)[str(crowd)]["poses"] == poses_to_json(multi)
    assert len(multi) >= 2


def test_preset_reference_multi_is_the_library_estimate(capsys, net, photos_dir):
    crowd = photos_dir / "ultralytics__zidane.jpg"
    code, out, _ = run(capsys, "image", crowd, "--preset", "reference", "--multi")
    assert code == 0
    assert json.loads(out)[str(crowd)]["poses"] == poses_to_json(net.estimate(crowd, "reference"))
    code, out, _ = run(capsys, "image", crowd, "--preset", "reference")
    assert json.loads(out)[str(crowd)]["poses"] == poses_to_json(net.estimate(crowd, "reference", mode="single"))


def test_flags_override_the_preset(capsys, net, photos_dir):
    crowd = photos_dir / "ultralytics__zidane.jpg"
    code, out, _ = run(capsys, "image", crowd, "--preset", "coco", "--multi", "--max-detections", "2", "--flip",
                       "--min-pose-confidence", "0.2")
    assert code == 0
    expected = net.estimate(crowd, "coco", max_detections=2, flip_horizontal=True, min_pose_score=0.2)
    assert json.loads(out)[str(crowd)]["poses"] == poses_to_json(expected)


def test_tfjs_compat_changes_only_the_stride_8_dilation(capsys, models_dir, photo):
    def poses(*extra: str) -> list:
        code, out, _ = run(capsys, "image", photo, "--min-pose-confidence", "0", *extra)
        assert code == 0
        return json.loads(out)[str(photo)]["poses"]

    assert poses("--tfjs-compat") == poses()
    assert poses("--output-stride", "8", "--tfjs-compat") != poses("--output-stride", "8")
    net = posenet.load(output_stride=8, tfjs_compat=True)
    assert poses("--output-stride", "8", "--tfjs-compat")[0] == net.estimate_single_pose(photo).to_dict()


def test_folder_with_a_corrupt_image(capsys, models_dir, photos_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("ultralytics__zidane.jpg", "skimage__camera.png"):
        shutil.copy(photos_dir / name, folder / name)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    (folder / "notes.txt").write_text("not an image, skipped")
    out_dir, json_path = tmp_path / "out", tmp_path / "poses.json"

    code, _, err = run(capsys, "image", folder, "--multi", "--boxes", "--out", out_dir, "--json", json_path)
    assert code == 1
    assert "broken.jpg" in err and "2 of 3 images done, 1 failed" in err
    data = json.loads(json_path.read_text())
    assert sorted(Path(k).name for k in data) == ["broken.jpg", "skimage__camera.png", "ultralytics__zidane.jpg"]
    assert "error" in data[str(folder / "broken.jpg")]
    zidane = data[str(folder / "ultralytics__zidane.jpg")]["poses"]
    assert len(zidane) >= 2 and all(p["score"] >= 0.15 for p in zidane)  # multi default pose threshold
    assert sorted(p.name for p in out_dir.iterdir()) == ["skimage__camera.png", "ultralytics__zidane.jpg"]
    for name in ("skimage__camera.png", "ultralytics__zidane.jpg"):
        annotated, original = Image.open(out_dir / name), Image.open(folder / name)
        assert annotated.size == original.size and annotated.mode == "RGB"


def test_never_overwrites_silently_and_never_the_input(capsys, models_dir, photos_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(photos_dir / "tfpose__p1.jpg", folder / "a.jpg")
    original = (folder / "a.jpg").read_bytes()
    out_dir = tmp_path / "out"
    assert run(capsys, "image", folder, "--out", out_dir)[0] == 0
    first = (out_dir / "a.jpg").read_bytes()
    (out_dir / "a.jpg").write_bytes(b"user's file")

    code, _, err = run(capsys, "image", folder, "--out", out_dir)
    assert code == 1 and "already exists" in err and "--overwrite" in err
    assert (out_dir / "a.jpg").read_bytes() == b"user's file"
    assert run(capsys, "image", folder, "--out", out_dir, "--overwrite")[0] == 0
    assert (out_dir / "a.jpg").read_bytes() == first

    code, _, err = run(capsys, "image", folder, "--out", folder, "--overwrite")
    assert code == 1 and "over an input" in err
    code, _, err = run(capsys, "image", folder / "a.jpg", "--json", folder / "a.jpg", "--overwrite")
    assert code == 1
    assert (folder / "a.jpg").read_bytes() == original

    json_path = tmp_path / "p.json"
    json_path.write_text("keep")
    assert run(capsys, "image", folder, "--json", json_path)[0] == 1
    assert json_path.read_text() == "keep"


def test_failures_are_one_line_unless_verbose(capsys, models_dir, photo, tmp_path):
    code, out, err = run(capsys, "-q", "image", photo, "--json", tmp_path / "p.json")
    assert code == 0 and out == "" and err == ""

    missing = tmp_path / "nope.json"
    code, _, err = run(capsys, "image", photo, "--model-url", missing)
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("posenet: error:") and "Traceback" not in err
    code, _, err = run(capsys, "image", photo, "--model-url", missing, "--verbose")
    assert code == 1 and "Traceback" in err


# ------------------------------------------------------------------------------ video


def test_video_every_frame_annotated_tracked_and_smoothed(capsys, video_extra, models_dir, video_dir, tmp_path):
    out_video, out_json = tmp_path / "out.mp4", tmp_path / "out.jsonl"
    code, _, err = run(capsys, "video", video_dir / SMALL_VIDEO, "--end", "1", "--multi", "--track", "--smooth",
                       "--out", out_video, "--json", out_json)
    assert code == 0, err
    assert "30 frames, 0 failed to decode" in err and "fps" in err
    n, w, h, fps = frame_count(out_video)
    assert (n, w, h) == (30, 426, 240) and fps == pytest.approx(29.97, abs=0.01)
    lines = [json.loads(line) for line in out_json.read_text().splitlines()]
    assert [r["frame"] for r in lines] == list(range(30))
    assert [r["time_s"] for r in lines] == pytest.approx([i / 29.97 for i in range(30)], abs=1e-3)
    poses = [p for r in lines for p in r["poses"]]
    assert len(poses) >= 30
    assert all(isinstance(p["track_id"], int) and p["score"] >= 0.15 and len(p["keypoints"]) == 17 for p in poses)
    assert len({p["track_id"] for p in poses}) <= 6  # two people, a few short-lived tracks at most


def test_video_jsonl_on_stdout_with_a_cut(capsys, video_extra, models_dir, video_dir):
    code, out, _ = run(capsys, "video", video_dir / SMALL_VIDEO, "--start", "0.5", "--end", "0.7")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [r["frame"] for r in lines] == [15, 16, 17, 18, 19, 20]
    assert all(len(r["poses"]) == 1 and "track_id" not in r["poses"][0] for r in lines)  # single pose


def test_video_with_a_frame_that_fails_to_decode(capsys, video_extra, models_dir, video_dir, tmp_path):
    try:
        from .video_helpers import damaged_mjpeg
    except ImportError:  # tests/ run as a plain folder
        from video_helpers import damaged_mjpeg  # type: ignore[no-redef]

    source = tmp_path / "damaged.avi"
    damaged_mjpeg(video_dir / SMALL_VIDEO, source, frames=12, broken=5)
    out_video, out_json = tmp_path / "out.avi", tmp_path / "out.jsonl"
    code, _, err = run(capsys, "video", source, "--out", out_video, "--json", out_json, "--multi")
    assert code == 1
    assert "frame 5" in err and "12 frames, 1 failed to decode" in err
    assert frame_count(out_video)[0] == 12
    lines = [json.loads(line) for line in out_json.read_text().splitlines()]
    assert [r["frame"] for r in lines] == list(range(12))
    assert lines[5]["error"] == "failed to decode" and lines[5]["poses"] == []
    assert all("error" not in r for i, r in enumerate(lines) if i != 5)


def test_video_refuses_to_overwrite(capsys, video_extra, models_dir, video_dir, tmp_path):
    out_video = tmp_path / "out.mp4"
    out_video.write_bytes(b"precious")
    code, _, err = run(capsys, "video", video_dir / SMALL_VIDEO, "--out", out_video, "--end", "0.1")
    assert code == 1 and "already exists" in err
    assert out_video.read_bytes() == b"precious"
    code, _, err = run(capsys, "video", tmp_path / "missing.mp4", "--json", tmp_path / "x.jsonl")
    assert code == 1 and "no such file" in err


def test_video_without_the_video_extra(capsys, monkeypatch, video_dir):
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 -> ModuleNotFoundError
    for name in [m for m in sys.modules if m.startswith("posenet.video")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delattr(posenet, "video", raising=False)
    code, _, err = run(capsys, "video", video_dir / SMALL_VIDEO)
    assert code == 1 and "pip install 'posenet-py[video]'" in err and err.count("\n") == 1
    assert "posenet video needs the video extra (cv2 is missing)" in err


# ------------------------------------------------------------------------------ eval


def test_eval_prints_coco_numbers_and_writes_results(capsys, models_dir, coco_dir, tmp_path):
    pytest.importorskip("pycocotools")
    results = tmp_path / "results.json"
    code, out, _ = run(capsys, "eval", "--gt", coco_dir / GT_NAME, "--images", coco_dir, "--limit", "16",
                       "--out", results)
    assert code == 0
    stats = dict(line.split() for line in out.splitlines() if not line.startswith("images"))
    assert set(stats) == {"AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"}
    assert 0.0 < float(stats["AP"]) < 1.0 and float(stats["AP50"]) >= float(stats["AP75"])
    assert "16 evaluated, 0 failed" in out
    detections = json.loads(results.read_text())
    assert detections and all(
        set(d) == {"image_id", "category_id", "keypoints", "score"} and len(d["keypoints"]) == 51 for d in detections
    )
    assert run(capsys, "eval", "--gt", coco_dir / GT_NAME, "--images", coco_dir, "--out", results)[0] == 1


# ------------------------------------------------------------------------------ models


def test_models_list(capsys, models_dir):
    code, out, _ = run(capsys, "models", "list", "--json")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 27 and len({r["name"] for r in rows}) == 27
    default = next(r for r in rows if r["name"] == "mobilenet-float-075-stride16")
    assert default["location"] == "model dir" and default["on_disk"] and default["size_exact"]
    assert 4e6 < default["size_bytes"] < 6e6
    assert rows == [s.to_dict() for s in checkpoints.all_status()]
    assert not any(str(models_dir) in json.dumps(r) for r in rows)  # no absolute paths
    resnet = next(r for r in rows if r["name"] == "resnet50-quant2-stride16")
    assert resnet["precision"] == "uint16" and resnet["output_stride"] == 16
    code, out, _ = run(capsys, "models", "list")
    assert code == 0 and len(out.splitlines()) == 28
    header, *lines = out.splitlines()
    assert header.split()[-1] == "LOCATION"
    row = next(line for line in lines if line.startswith("mobilenet-float-075-stride16 "))
    assert row.endswith("  model dir")
    assert {r["location"] for r in rows} <= {"model dir", "cache", "elsewhere", "not on disk"}


def test_models_verify_and_fetch(capsys, models_dir, tmp_path, monkeypatch):
    code, out, _ = run(capsys, "models", "verify", "mobilenet-float-075-stride16")
    assert code == 0 and out.startswith("ok")
    code, _, err = run(capsys, "models", "fetch")
    assert code == 0 and "already on disk" in err

    # a corrupted copy in a private model folder is caught
    local = tmp_path / "models"
    shutil.copytree(models_dir / "mobilenet" / "float" / "050", local / "mobilenet" / "float" / "050")
    shard = next((local / "mobilenet" / "float" / "050").glob("*.bin"))
    shard.write_bytes(shard.read_bytes()[:-4] + b"oops")
    monkeypatch.setenv("POSENET_MODEL_DIR", str(local))
    monkeypatch.setenv("POSENET_CACHE_DIR", str(tmp_path / "cache"))
    code, _, err = run(capsys, "models", "verify")
    assert code == 1 and "sha256" in err and "mobilenet-float-050-stride16" in err
    rows = json.loads(run(capsys, "models", "list", "--json")[1])
    assert sorted(r["name"] for r in rows if r["location"] == "model dir") == [
        "mobilenet-float-050-stride16", "mobilenet-float-050-stride8"]


# ------------------------------------------------------------------------------ serve


def test_serve_passes_options_to_the_server(capsys, models_dir, monkeypatch):
    server = pytest.importorskip("posenet.server")
    calls = []
    monkeypatch.setattr(server, "serve", lambda net, **kw: calls.append((net, kw)))
    code, _, _ = run(capsys, "serve", "--port", "9123", "--multiplier", "0.5", "--max-pixels", "1000000",
                     "--max-queue", "3")
    assert code == 0
    (net, kw), = calls
    assert net.multiplier == 0.5
    assert kw == {"host": "127.0.0.1", "port": 9123, "max_upload_bytes": None, "max_pixels": 1000000, "max_queue": 3}


def test_serve_without_the_server_extra(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "fastapi", None)  # import fastapi -> ModuleNotFoundError
    for name in [m for m in sys.modules if m.startswith("posenet.server")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delattr(posenet, "server", raising=False)
    code, _, err = run(capsys, "serve")
    assert code == 1
    assert "pip install 'posenet-py[server]'" in err and err.count("\n") == 1


@pytest.mark.skipif(os.name != "posix", reason="uses a POSIX pipe")
def test_broken_pipe_is_quiet(models_dir, photo):
    code = f"import sys; from posenet.cli import main; sys.exit(main(['image', {str(photo)!r}]))"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(10)
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err
