"""Batch jobs without Ray: sources, plans, records, the output folder, the local engine
(same records as the plain library loop, resumable after a stop or a kill) and the CLI.

Every test that starts worker processes uses 2 of them and a time limit, and stops them
even when it fails (the pool is shut down by the engine; a killed job's process group
is killed).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from posenet import ModelConfig, PoseOptions, create_detector, pose_options
from posenet.batch import BatchError, TextProgress, expand_sources, iter_records, run_batch
from posenet.batch.progress import eta_text
from posenet.batch.records import PartWriter, coco_entries, make_record, records_table
from posenet.batch.sources import ImageTask, VideoTask, frame_item, image_item, plan_tasks
from posenet.batch.work import iter_video
from posenet.images import decode_image
from posenet.serialize import frame_record, image_record

REPO = Path(__file__).resolve().parents[1]
VIDEO = "mmaction2__test_video_structuralize.mp4"  # 426x240, 300 frames
EVERY = 10
OPTIONS = pose_options("camera", mode="multi")
COCO_IMAGES = 80


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeoutError in the main thread after ``seconds`` (engines then stop their workers)."""
    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"test took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ---------------------------------------------------------------------------- shared data


def make_sources(coco_dir: Path, video_dir: Path, folder: Path) -> list[str]:
    """The COCO folder, a video and a corrupt image (written into ``folder``)."""
    corrupt = folder / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG" * 10)
    return [str(coco_dir), str(video_dir / VIDEO), str(corrupt)]


@pytest.fixture(scope="module")
def batch_sources(coco_dir: Path, video_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return make_sources(coco_dir, video_dir, tmp_path_factory.mktemp("corrupt"))


def plain_loop(sources: list[str], options: PoseOptions, every: int) -> dict[str, dict[str, Any]]:
    """The records the plain library loop gives: decode_image + estimate per image,
    VideoReader + estimate per wanted frame (ids as the batch job makes them)."""
    from posenet.video import VideoReader

    model = create_detector("posenet", ModelConfig())
    coco, video, corrupt = sources
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(coco).glob("*.jpg")):
        rgb = decode_image(path)
        key = os.path.abspath(path)
        out[key] = {"id": key, "source": key, **image_record(rgb.shape[1], rgb.shape[0], model.estimate(rgb, options))}
    with VideoReader(video) as reader:
        for frame in reader:
            if frame.index % every == 0:
                assert frame.image is not None
                record = frame_record(frame.index, frame.time_s, model.estimate(frame.image, options))
                key = f"{os.path.abspath(video)}#{frame.index}"
                out[key] = {"id": key, "source": os.path.abspath(video), **record,
                            "width": frame.image.shape[1], "height": frame.image.shape[0]}
    out[corrupt] = {"id": corrupt, "source": corrupt, "error": "?"}
    return out


@pytest.fixture(scope="module")
def reference(batch_sources: list[str], models_dir: Path) -> dict[str, dict[str, Any]]:
    pytest.importorskip("cv2")
    return plain_loop(batch_sources, OPTIONS, EVERY)


def check_against(reference: dict[str, dict[str, Any]], out_dir: Path) -> list[dict[str, Any]]:
    """Every item recorded exactly once, with the plain loop's record; the corrupt file failed."""
    records = list(iter_records(out_dir))
    counts = Counter(r["id"] for r in records)
    assert set(counts) == set(reference), set(counts) ^ set(reference)
    assert max(counts.values()) == 1, [k for k, n in counts.items() if n > 1]
    for record in records:
        expected = reference[record["id"]]
        if "error" in expected:
            assert "cannot decode" in record["error"] and "poses" not in record
        else:
            assert record == expected, record["id"]
    return records


# ---------------------------------------------------------------------------- sources and plans


def test_sources_expand_folders_globs_and_manifests(tmp_path: Path) -> None:
    (tmp_path / "a" / "deep").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for name in ("a/1.jpg", "a/deep/2.PNG", "a/deep/clip.mp4", "a/notes.md", "a/.x.jpg", ".hidden/3.jpg", "b.jpg"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "list.txt").write_text("# comment\n\nb.jpg\na/1.jpg\nmissing.jpg\n")
    notes: list[str] = []
    found = expand_sources([tmp_path / "a", str(tmp_path / "*.jpg"), tmp_path / "list.txt",
                            str(tmp_path / "none*.png")], notes)
    rel = [os.path.relpath(p, tmp_path) for p in found]
    assert rel == ["a/1.jpg", "a/deep/2.PNG", "a/deep/clip.mp4", "b.jpg", "missing.jpg"]
    assert notes == [f"{tmp_path / 'none*.png'}: no files match"]


def test_plan_groups_images_skips_done_and_stops_at_the_limit() -> None:
    paths = [f"/d/{i}.jpg" for i in range(5)] + ["/d/v.mp4", "/d/broken.mp4"]

    def count(path: str) -> int | None:
        if "broken" in path:
            raise OSError("cannot open")
        return 25

    done = {"/d/1.jpg", "/d/v.mp4#0"}
    plan = plan_tasks(paths, done, every=10, batch_size=3, count_frames=count)
    assert plan.items == 5 + 3 + 1 and plan.skipped == 2 and plan.pending == 4 + 2
    assert plan.tasks[0] == ImageTask((image_item("/d/0.jpg"), image_item("/d/2.jpg"), image_item("/d/3.jpg")))
    assert plan.tasks[1] == ImageTask((image_item("/d/4.jpg"),))
    assert plan.tasks[2] == VideoTask("/d/v.mp4", 10, frozenset({10, 20}))
    assert plan.tasks[3] == VideoTask("/d/broken.mp4", 10, None, frozenset())  # fails in its task, says why
    limited = plan_tasks(paths, done, every=10, batch_size=3, max_items=5, count_frames=count)
    assert limited.pending == 5 and limited.tasks[-1] == VideoTask("/d/v.mp4", 10, frozenset({10}))
    assert limited.held_back == 2  # /d/v.mp4#20 and the unreadable video


# ---------------------------------------------------------------------------- records and folder


def test_records_have_the_serialize_shapes() -> None:
    image, frame = image_item("/x.jpg"), frame_item("/v.mp4", 3)
    assert make_record(image, None, (4, 3), [], None) == {"id": "/x.jpg", "source": "/x.jpg", **image_record(4, 3, [])}
    assert make_record(image, None, None, [], "bad") == {"id": "/x.jpg", "source": "/x.jpg", "error": "bad"}
    assert make_record(frame, 0.1, (4, 3), [], None) == {"id": "/v.mp4#3", "source": "/v.mp4", "frame": 3,
                                                         "time_s": 0.1, "width": 4, "height": 3, "poses": []}
    assert make_record(frame, 0.1, None, [], "failed to decode")["error"] == "failed to decode"


def test_parts_survive_a_truncated_line_and_parquet_reads_back_the_same(tmp_path: Path,
                                                                        reference: dict[str, Any]) -> None:
    good = [r for r in reference.values() if "error" not in r][:20]
    records = [*good, {"id": "/bad.jpg", "source": "/bad.jpg", "error": "cannot decode"}]
    writer = PartWriter(tmp_path, "jsonl", "run", "w1")
    writer.write(records)
    writer.close()
    with (tmp_path / "part-run-w1.jsonl").open("a") as part:
        part.write('{"id": "/half.jpg", "source": "/ha')  # a writer killed mid-line
    assert list(iter_records(tmp_path)) == records
    pytest.importorskip("pyarrow")
    parquet = tmp_path / "pq"
    parquet.mkdir()
    PartWriter(parquet, "parquet", "run", "w1").write(records)
    assert list(iter_records(parquet)) == records
    assert records_table(records).num_rows == len(records)
    assert not list(parquet.glob(".tmp-*"))


def test_output_folder_must_be_new_empty_or_the_same_job(tmp_path: Path, coco_dir: Path, models_dir: Path) -> None:
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("mine")
    with pytest.raises(BatchError, match="not empty"):
        run_batch([coco_dir], tmp_path / "other", options=OPTIONS)
    with pytest.raises(BatchError, match="no images or videos"):
        run_batch([tmp_path / "nothing*.jpg"], tmp_path / "job", options=OPTIONS)
    with pytest.raises(BatchError, match=r"options.min_pose_score: 0.15 before, 0.5 now\)"):
        run_batch([coco_dir], tmp_path / "job", options=OPTIONS.replace(min_pose_score=0.5))
    with pytest.raises(ValueError, match="Invalid engine"):
        run_batch([coco_dir], tmp_path / "job2", engine="spark")
    import fcntl

    with (tmp_path / "job" / ".lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(BatchError, match="another run is writing"):
            run_batch([coco_dir], tmp_path / "job", options=OPTIONS)


def test_a_video_that_cannot_be_opened_is_one_failed_item(tmp_path: Path) -> None:
    pytest.importorskip("cv2")
    bogus = tmp_path / "bogus.mp4"
    bogus.write_bytes(b"not a video")
    (failed,) = iter_video(VideoTask(str(bogus)))
    assert failed.item == image_item(str(bogus)) and failed.image is None and str(bogus) in (failed.error or "")


def test_text_progress_prints_counts_rate_and_eta() -> None:
    import io

    stream = io.StringIO()
    progress = TextProgress(stream, interval_s=0.0, label="job")
    progress.start(10, 2)
    progress.advance(4, [("a", "bad")])
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "job: 10 items to do, 2 done before"
    assert lines[1].startswith("job: 4/10 items (1 failed), ") and "items/s, ETA" in lines[1]
    assert (eta_text(42), eta_text(185), eta_text(7620)) == ("42s", "3m05s", "2h07m")


# ---------------------------------------------------------------------------- the local engine


def test_local_engine_matches_the_plain_loop_and_resumes(tmp_path: Path, batch_sources: list[str],
                                                         reference: dict[str, Any]) -> None:
    out = tmp_path / "job"
    with time_limit(120):
        first = run_batch(batch_sources, out, None, OPTIONS, workers=2, every=EVERY, max_items=45)
        assert (first.processed, first.remaining, first.items) == (45, len(reference) - 45, len(reference))
        second = run_batch(batch_sources, out, None, OPTIONS, workers=2, every=EVERY, coco=tmp_path / "coco.json")
    assert (second.skipped, second.processed, second.remaining) == (45, len(reference) - 45, 0)
    assert (second.ok, second.failed) == (len(reference) - 1, 1)
    assert second.failures[0]["id"] == batch_sources[2] and "cannot decode" in second.failures[0]["error"]
    check_against(reference, out)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] and summary["processed"] == second.processed and summary["items_per_s"] > 0
    coco = json.loads((tmp_path / "coco.json").read_text())
    with_people = {int(Path(k).stem) for k, r in reference.items() if r.get("poses") and "frame" not in r}
    assert coco == coco_entries(out) and {e["image_id"] for e in coco} == with_people
    assert len(coco) == sum(len(r["poses"]) for r in reference.values() if "frame" not in r and "poses" in r)


KILLED_JOB = """
import sys
from posenet import pose_options
from posenet.batch import run_batch
run_batch(sys.argv[1:-1], sys.argv[-1], None, pose_options("camera", mode="multi"), workers=1, every=10,
          batch_size=2)
"""


def test_a_killed_local_job_finishes_on_rerun_each_item_once(tmp_path: Path, batch_sources: list[str],
                                                             reference: dict[str, Any]) -> None:
    out = tmp_path / "job"
    job = subprocess.Popen([sys.executable, "-c", KILLED_JOB, *batch_sources, str(out)], start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not out.is_dir() or sum(1 for _ in iter_records(out)) < 10:
            assert job.poll() is None and time.monotonic() < deadline, "the job ended or stalled before the kill"
            time.sleep(0.02)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(job.pid, signal.SIGKILL)  # the job and its worker, as a crash would
        job.wait(10)
    done_before = len({r["id"] for r in iter_records(out)})
    assert 10 <= done_before < len(reference)
    with time_limit(120):
        summary = run_batch(batch_sources, out, None, OPTIONS, workers=2, every=EVERY)
    assert summary.skipped == done_before and summary.complete
    check_against(reference, out)


def test_local_engine_does_not_import_ray(tmp_path: Path, coco_dir: Path, models_dir: Path) -> None:
    script = ("import sys\nimport posenet.cli\nfrom posenet.batch import run_batch\n"
              f"run_batch([{str(coco_dir)!r} + '/*.jpg'], {str(tmp_path / 'o')!r}, workers=2, max_items=4)\n"
              "assert 'ray' not in sys.modules, 'ray was imported'\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(list(iter_records(tmp_path / "o"))) == 4


# ---------------------------------------------------------------------------- the command


def posenet_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "posenet", *args], capture_output=True, text=True, timeout=120,
                          cwd=REPO)


def test_cli_batch_runs_resumes_and_reports(tmp_path: Path, batch_sources: list[str],
                                            reference: dict[str, Any]) -> None:
    out = tmp_path / "job"
    images = [batch_sources[2], batch_sources[0]]  # the corrupt file first: among the first 30
    first = posenet_cli("batch", *images, "--out", str(out), "--multi", "--workers", "2", "--limit", "30")
    assert first.returncode == 1, first.stderr  # the corrupt file failed
    assert "30 items in" in first.stderr and "items left: rerun" in first.stderr
    second = posenet_cli("batch", *images, "--out", str(out), "--multi", "--workers", "2", "-q")
    assert second.returncode == 1 and "cannot decode" in second.stderr
    records = {r["id"]: r for r in iter_records(out)}
    assert len(records) == COCO_IMAGES + 1
    assert all(records[k] == r for k, r in reference.items() if k in records and "error" not in r)


def test_cli_batch_usage(tmp_path: Path, coco_dir: Path) -> None:
    helped = posenet_cli("batch", "--help")
    assert helped.returncode == 0 and "--engine {local,ray}" in helped.stdout
    assert "--inference-engine {auto,onnxruntime,numpy}" in helped.stdout
    wrong = posenet_cli("batch", str(coco_dir), "--out", str(tmp_path / "o"), "--ray-address", "auto")
    assert wrong.returncode == 2 and "need --engine ray" in wrong.stderr
    no_out = posenet_cli("batch", str(coco_dir))
    assert no_out.returncode == 2 and "--out" in no_out.stderr
