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
    pytest.importorskip("av")


try:  # tests/ as a package or as a plain folder on sys.path
    from .video_helpers import cut_in_half, damaged_mjpeg, mjpeg_avi
except ImportError:  # pragma: no cover
    from video_helpers import cut_in_half, damaged_mjpeg, mjpeg_avi  # type: ignore[no-redef]


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
    assert code == 1 and "over the input" in err
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
    assert "30 frames, 0 failed" in err and "fps" in err
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
    source = tmp_path / "damaged.avi"
    damaged_mjpeg(video_dir / SMALL_VIDEO, source, frames=12, broken=5)
    out_video, out_json = tmp_path / "out.avi", tmp_path / "out.jsonl"
    code, _, err = run(capsys, "video", source, "--out", out_video, "--json", out_json, "--multi")
    assert code == 1
    assert "frame 5 (0.167 s): failed to decode; written black" in err
    assert "12 frames, 1 failed (1 failed to decode)" in err
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
    stats = dict(line.split()[:2] for line in out.splitlines() if not line.startswith("images"))
    assert set(stats) == {"ms/image", "AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"}
    assert 0.0 < float(stats["ms/image"]) < 5000 and "(median, pose estimation only)" in out
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
    assert header.split() == ["NAME", "SIZE", "LOCATION", "OPTIONS"]
    row = next(line for line in lines if line.startswith("mobilenet-float-075-stride16 "))
    assert "  model dir  " in row and row.endswith("(the default)")
    assert {r["location"] for r in rows} <= {"model dir", "cache", "elsewhere", "not on disk"}


def test_models_list_shows_the_options_that_load_each_checkpoint(capsys, models_dir):
    # the columns repeated the name (architecture, weights, multiplier, stride) in values
    # the options do not take (MULT 1.00 for ResNet50, WEIGHTS uint16 for --quant-bytes 2)
    code, out, _ = run(capsys, "models", "list")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert rows["resnet50-quant2-stride32"].endswith("--architecture ResNet50 --quant-bytes 2 --output-stride 32")
    assert rows["mobilenet-quant1-050-stride8"].endswith("--multiplier 0.5 --quant-bytes 1 --output-stride 8")
    assert rows["mobilenet-float-100-stride16"].endswith("--multiplier 1.0")
    for c in checkpoints.all_checkpoints():  # the options load that very checkpoint
        flags = rows[c.name].split("  ")[-1].split()
        if flags[0] != "(the":
            args = build_parser().parse_args(["image", "x.jpg", *flags])
            assert (args.architecture, args.quant_bytes, args.output_stride) == (c.architecture, c.quant_bytes,
                                                                                 c.output_stride)
            assert args.multiplier in (None, c.multiplier)


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
    models = kw.pop("models")
    assert kw == {"host": "127.0.0.1", "port": 9123, "max_upload_bytes": None, "max_pixels": 1000000, "max_queue": 3,
                  "default_model": "posenet"}
    assert next(iter(models)) == "posenet" and models["posenet"]().multiplier == 0.5  # the default, as configured


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


# ------------------------------------------------------------------------------ bad inputs
# (the "Command line and video" rows of docs/bad-inputs.md)


@pytest.fixture(scope="module")
def small_avi(tmp_path_factory, video_dir):
    pytest.importorskip("cv2")
    pytest.importorskip("av")
    return mjpeg_avi(video_dir / SMALL_VIDEO, tmp_path_factory.mktemp("avi") / "full.avi")


def test_video_frames_lost_from_a_damaged_file_fail_in_place(capsys, models_dir, small_avi, tmp_path):
    # the review's case: "146 frames, 0 failed to decode", exit 0
    half = cut_in_half(small_avi, tmp_path / "half.avi")
    out_json = tmp_path / "half.jsonl"
    code, _, err = run(capsys, "video", half, "--json", out_json)
    assert code == 1
    assert "300 frames, 154 failed (154 missing from the file)" in err
    assert "frames 146-299 (4.872-9.977 s): missing from the file" in err  # one line for the run
    lines = [json.loads(line) for line in out_json.read_text().splitlines()]
    assert [r["frame"] for r in lines] == list(range(300))
    assert all(r["error"] == "missing from the file" and r["poses"] == [] for r in lines[146:])
    assert lines[299]["time_s"] == pytest.approx(299 / 29.97, abs=1e-5)


def test_outputs_that_are_one_file_are_refused(capsys, video_extra, models_dir, photo, video_dir, tmp_path):
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "image", photo, "--out", out_dir, "--json", out_dir / photo.name)
    assert code == 1 and "--json" in err and f"the annotated copy of {photo}" in err and "are the same file" in err
    assert not out_dir.exists()
    (tmp_path / "alias").mkdir()
    out_dir.symlink_to(tmp_path / "alias", target_is_directory=True)  # the same folder by another name
    code, _, err = run(capsys, "image", photo, "--out", out_dir, "--json", tmp_path / "alias" / photo.name)
    assert code == 1 and "are the same file" in err
    target = tmp_path / "x.mp4"
    code, _, err = run(capsys, "video", video_dir / SMALL_VIDEO, "--out", target, "--json", target)
    assert code == 1 and f"--json {target} and --out {target} are the same file" in err
    assert not target.exists()


def test_a_hard_link_of_an_input_is_never_written(capsys, models_dir, photo, tmp_path):
    folder, out_dir = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    out_dir.mkdir()
    shutil.copy(photo, folder / "a.jpg")
    os.link(folder / "a.jpg", out_dir / "a.jpg")
    original = (folder / "a.jpg").read_bytes()
    code, _, err = run(capsys, "image", folder, "--out", out_dir, "--overwrite")
    assert code == 1 and "over the input" in err and "the same file under another name" in err
    assert (folder / "a.jpg").read_bytes() == original
    # a hard link to a file that is no input is replaced by the new file, not written through
    other = tmp_path / "other.jpg"
    shutil.copy(photo, other)
    (out_dir / "a.jpg").unlink()
    os.link(other, out_dir / "a.jpg")
    assert run(capsys, "image", folder, "--out", out_dir, "--overwrite")[0] == 0
    assert other.read_bytes() == photo.read_bytes() != (out_dir / "a.jpg").read_bytes()
    assert sorted(p.name for p in out_dir.iterdir()) == ["a.jpg"]  # no temporary file left


def test_image_json_is_written_as_it_comes_and_valid_after_ctrl_c(capsys, models_dir, photos_dir, tmp_path,
                                                                  monkeypatch):
    from posenet.cli import image as image_verb

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        shutil.copy(photos_dir / "tfpose__p1.jpg", folder / f"{i}.jpg")
    json_path = tmp_path / "poses.json"
    real, seen = image_verb._one_image, []

    def then_ctrl_c(*args, **kwargs):
        if len(seen) == 2:
            assert len(json.loads(json_path.read_text() + "}")) == 2  # on disk already
            raise KeyboardInterrupt
        seen.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(image_verb, "_one_image", then_ctrl_c)
    code, _, err = run(capsys, "image", folder, "--json", json_path)
    assert code == 130 and f"stopped after 2 of 4 images; {json_path} holds those" in err
    assert sorted(json.loads(json_path.read_text())) == [str(folder / "0.jpg"), str(folder / "1.jpg")]


def _terminate_when(cmd: list[str], ready, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run ``posenet CMD``; send SIGTERM once ``ready()``; the finished process."""
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-m", "posenet", *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + timeout
    try:
        while not ready() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM")
def test_sigterm_leaves_outputs_that_open(video_extra, models_dir, photos_dir, video_dir, tmp_path):
    import av

    out, jsonl = tmp_path / "out.mp4", tmp_path / "out.jsonl"
    done = _terminate_when(["video", str(video_dir / SMALL_VIDEO), "--out", str(out), "--json", str(jsonl)],
                           lambda: _lines(jsonl) >= 10)
    assert done.returncode == 143, done.stderr
    assert "terminated (SIGTERM)" in done.stderr and "hold them" in done.stderr
    frames = _lines(jsonl)
    assert 10 <= frames < 300
    with av.open(str(out)) as container:  # a finished file: it opens, with every frame done
        assert container.streams.video[0].frames == frames
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl", "out.mp4"]
    # posenet image: the JSON is closed properly
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(300):
        (folder / f"{i:03d}.jpg").symlink_to(photos_dir / "tfpose__p1.jpg")
    poses = tmp_path / "poses.json"
    done = _terminate_when(["image", str(folder), "--json", str(poses)], lambda: _lines(poses) >= 3)
    assert done.returncode == 143 and 2 <= len(json.loads(poses.read_text())) < 300


@pytest.mark.parametrize("value", ["0", "0.5", "8000"])
def test_bad_input_resolution_is_a_usage_error_naming_the_bound(capsys, value):
    code, _, err = run(capsys, "image", "x.jpg", "--input-resolution", value)
    bounds = f"[{opts.MIN_INPUT_SIDE}, {opts.max_input_side()}]"
    assert code == 2 and "argument --input-resolution:" in err and bounds in err and f"got {value}" in err


def test_odd_sized_video_keeps_every_pixel(capsys, video_extra, models_dir, tmp_path):
    import av
    import numpy as np

    source = tmp_path / "odd.avi"
    with av.open(str(source), "w") as container:
        stream = container.add_stream("mjpeg", rate=25)
        stream.width, stream.height, stream.pix_fmt = 641, 359, "yuvj444p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((359, 641, 3), 20 * i, np.uint8), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    out = tmp_path / "out.mp4"
    code, _, err = run(capsys, "video", source, "--out", out)
    assert code == 0 and "odd size: the output video is 642x360" in err
    assert frame_count(out)[:3] == (10, 642, 360)  # was 640x358: a row and a column lost


def test_eval_with_no_image_evaluated_exits_1(capsys, models_dir, tmp_path):
    pytest.importorskip("pycocotools")
    (tmp_path / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 9, "height": 9}],
                              "annotations": [], "categories": [{"id": 1, "name": "person"}]}))
    code, out, err = run(capsys, "eval", "--gt", gt, "--images", tmp_path)
    assert code == 1 and out == "" and "no image could be evaluated (1 could not be read)" in err


def test_video_start_past_the_end_exits_1(capsys, video_extra, models_dir, video_dir, tmp_path):
    jsonl = tmp_path / "x.jsonl"
    code, _, err = run(capsys, "video", video_dir / SMALL_VIDEO, "--start", "20", "--json", jsonl)
    assert code == 1 and "--start 20 s is past the end of" in err and "(10.010 s long)" in err
    assert not jsonl.exists()
    code, _, err = run(capsys, "video", video_dir / SMALL_VIDEO, "--start", "1.0011", "--end", "1.0012")
    assert code == 1 and "no frame of" in err and "between --start 1.0011 s and --end 1.0012 s" in err


@pytest.mark.skipif(os.name != "posix", reason="POSIX device files")
def test_json_to_dev_stdout_or_a_pipe_is_accepted(models_dir, photo, tmp_path):
    cmd = [sys.executable, "-m", "posenet", "image", str(photo), "--json", "/dev/stdout"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)  # stdout: a pipe
    assert done.returncode == 0, done.stderr
    assert list(json.loads(done.stdout)) == [str(photo)]
    target = tmp_path / "poses.json"
    with target.open("w") as f:  # `> poses.json`: the shell made the file already
        assert subprocess.run(cmd, stdout=f, stderr=subprocess.PIPE, timeout=120).returncode == 0
    assert list(json.loads(target.read_text())) == [str(photo)]


def test_video_summary_names_every_output(capsys, video_extra, models_dir, video_dir, tmp_path):
    out, jsonl = tmp_path / "a.mp4", tmp_path / "a.jsonl"
    code, _, err = run(capsys, "video", video_dir / SMALL_VIDEO, "--end", "0.2", "--out", out, "--json", jsonl)
    assert code == 0 and err.strip().splitlines()[-1].endswith(f"-> {out}, {jsonl}")


def test_messages_name_the_file_once(capsys, models_dir, photo, tmp_path):
    trunc, text = tmp_path / "trunc.jpg", tmp_path / "text.jpg"
    trunc.write_bytes(photo.read_bytes()[:3000])
    text.write_text("hello")
    for path, reason in [(tmp_path / "nosuch.jpg", "no such file"), (trunc, "truncated"),
                         (text, "not an image format")]:
        code, _, err = run(capsys, "image", path, "--json", tmp_path / f"{path.stem}.json")
        (line,) = [line for line in err.splitlines() if line.startswith("posenet: error:")]
        assert code == 1 and reason in line and line.count(path.name) == 1, line
        assert json.loads((tmp_path / f"{path.stem}.json").read_text())[str(path)]["error"].count(path.name) == 1
    code, _, err = run(capsys, "image", f"{tmp_path / 'nosuchdir'}/", "--json", tmp_path / "d.json")
    assert code == 1 and f"{tmp_path / 'nosuchdir'}/: no such file or folder" in err  # not "missing image file"


def test_video_of_a_file_that_is_no_video_blames_the_input(capsys, video_extra, photo, tmp_path):
    # was: "x.mp4: OpenCV cannot write mp4v video" for a text file named .jpg
    text = tmp_path / "notes.jpg"
    text.write_text("hello")
    out = tmp_path / "x.mp4"
    for source, reason in [(text, "notes.jpg: not a video file"), (photo, "is a still image, not a video"),
                           (tmp_path, "is a folder, not a video file"), (tmp_path / "no.mp4", "no.mp4: no such file")]:
        code, _, err = run(capsys, "video", source, "--out", out)
        assert code == 1 and reason in err and "x.mp4" not in err and err.count("\n") == 1, err
    assert not out.exists()


def test_eval_refuses_a_folder_missing_annotated_images(capsys, models_dir, coco_dir, tmp_path):
    # was: 78 lines of "[Errno 2] No such file" then "2 evaluated, 78 failed"
    pytest.importorskip("pycocotools")
    records = sorted(json.loads((coco_dir / GT_NAME).read_text())["images"], key=lambda im: im["id"])
    for im in records[:2]:
        (tmp_path / im["file_name"]).symlink_to(coco_dir / im["file_name"])
    missing = len(records) - 2
    code, out, err = run(capsys, "eval", "--gt", coco_dir / GT_NAME, "--images", tmp_path)
    assert code == 1 and out == "" and err.count("\n") == 1
    assert f"lacks {missing} of the {len(records)} images" in err and "--allow-missing" in err
    code, out, err = run(capsys, "eval", "--gt", coco_dir / GT_NAME, "--images", tmp_path, "--allow-missing")
    assert code == 0 and "2 evaluated, 0 failed" in out and "ms/image" in out
    assert f"warning: {missing} of the {len(records)} annotated images are not in {tmp_path}: left out" in err
