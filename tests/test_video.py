"""Video reading and writing on the shared videos and on a damaged copy; the pipeline."""

from __future__ import annotations

import threading

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

import posenet  # noqa: E402
from posenet import Keypoint, Pose, PoseOptions, Position  # noqa: E402
from posenet.tracking import PoseTracker  # noqa: E402
from posenet.video import (  # noqa: E402
    Background,
    FrameResult,
    VideoError,
    VideoFrame,
    VideoInfo,
    VideoReader,
    VideoWriter,
    prefetch,
    process_video,
)
from posenet.video.io import _fill_gaps  # noqa: E402

try:
    from .video_helpers import damaged_mjpeg
except ImportError:  # tests/ run as a plain folder
    from video_helpers import damaged_mjpeg  # type: ignore[no-redef]

SMALL = "mmaction2__test_video_structuralize.mp4"  # 426x240, 300 frames, 29.97 fps


@pytest.fixture(scope="module")
def small(video_dir):
    return video_dir / SMALL


def test_reads_every_frame_in_order(small):
    with VideoReader(small) as reader:
        assert (reader.info.width, reader.info.height, reader.info.frame_count) == (426, 240, 300)
        assert reader.info.fps == pytest.approx(29.97, abs=0.01)
        assert reader.frames_in_range() == 300
        frames = list(reader)
    assert [f.index for f in frames] == list(range(300))
    assert all(f.ok and f.image.shape == (240, 426, 3) and f.image.dtype == np.uint8 for f in frames)
    times = [f.time_s for f in frames]
    assert times[0] == 0.0 and np.all(np.diff(times) > 0)
    assert times[-1] == pytest.approx(299 / 29.97, abs=1e-3)


def test_frames_are_rgb(small):
    with VideoReader(small, end_s=0.01) as reader:
        (frame,) = list(reader)
    cap = cv2.VideoCapture(str(small))
    ok, bgr = cap.read()
    cap.release()
    assert ok and np.array_equal(frame.image, bgr[:, :, ::-1])


def test_start_and_end_cut_in_seconds(small):
    with VideoReader(small, start_s=1.0, end_s=2.0) as reader:
        frames = list(reader)
        assert reader.frames_in_range() == len(frames)
    assert all(1.0 <= f.time_s < 2.0 for f in frames)
    assert [f.index for f in frames] == list(range(30, 60))  # source indices kept
    with pytest.raises(ValueError):
        VideoReader(small, start_s=2.0, end_s=1.0)


def test_variable_frame_rate_source_has_no_false_failures(video_dir):
    # the 1080p clip has a 200 ms gap between two frames: not a decode failure
    with VideoReader(video_dir / "mmaction2__demo_skeleton.mp4") as reader:
        assert reader.info.frame_count == 72
        frames = list(reader)
    assert len(frames) == 72 and all(f.ok for f in frames)


def test_a_frame_that_fails_to_decode_is_reported_in_place(small, tmp_path):
    path = tmp_path / "damaged.avi"
    damaged_mjpeg(small, path, frames=12, broken=5)
    with VideoReader(path) as reader:
        frames = list(reader)
    assert [f.index for f in frames] == list(range(12))
    assert [f.index for f in frames if not f.ok] == [5]
    assert frames[5].time_s == pytest.approx(5 / 29.97, abs=1e-3)


def test_without_container_timestamps_a_failed_read_is_one_frame(small, tmp_path):
    path = tmp_path / "damaged.avi"
    damaged_mjpeg(small, path, frames=12, broken=5)
    with VideoReader(path) as reader:
        reader._times = None  # as with a backend that cannot list packets
        frames = list(reader)
    assert [f.index for f in frames] == list(range(12))
    assert [f.index for f in frames if not f.ok] == [5]


def test_missing_or_unreadable_file(tmp_path):
    with pytest.raises(VideoError, match="no such file"):
        VideoReader(tmp_path / "nope.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    with pytest.raises(VideoError, match="cannot open"):
        VideoReader(junk)


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_writer_round_trip(tmp_path, suffix):
    path = tmp_path / f"out{suffix}"
    frames = [np.full((48, 64, 3), 20 * i, np.uint8) for i in range(10)]
    with VideoWriter(path, 64, 48, 25.0) as writer:
        for f in frames:
            writer.write(f)
        assert writer.frames_written == 10
    with VideoReader(path) as reader:
        assert (reader.info.width, reader.info.height) == (64, 48)
        assert reader.info.fps == pytest.approx(25.0)
        back = list(reader)
    assert len(back) == 10
    assert abs(int(back[7].image.mean()) - 140) <= 4


def test_writer_rejects_bad_frames_and_extensions(tmp_path):
    with VideoWriter(tmp_path / "a.mp4", 64, 48, 25.0) as writer, pytest.raises(ValueError):
        writer.write(np.zeros((64, 48, 3), np.uint8))
    with pytest.raises(VideoError, match="codec"):
        VideoWriter(tmp_path / "a.xyz", 64, 48, 25.0)


def test_fill_gaps_places_missing_frames_in_the_widest_gaps():
    step = 1 / 30
    times = [i * step for i in range(10) if i not in (3, 7)]
    filled = _fill_gaps(times, 2)
    assert filled == pytest.approx([i * step for i in range(10)])
    assert _fill_gaps([0.0, 0.1], 1) == pytest.approx([0.0, 0.1, 0.2])


def test_prefetch_keeps_order_and_propagates_errors():
    assert list(prefetch(range(100), size=3)) == list(range(100))

    def broken():
        yield 1
        raise RuntimeError("decoder exploded")

    gen = prefetch(broken())
    assert next(gen) == 1
    with pytest.raises(RuntimeError, match="exploded"):
        next(gen)
    before = threading.active_count()
    gen = prefetch(iter(range(10**9)), size=2)
    next(gen)
    gen.close()  # stops the thread
    assert threading.active_count() == before


def test_background_runs_in_order_and_reraises():
    seen: list[int] = []
    worker = Background(size=2)
    for i in range(50):
        worker.submit(seen.append, i)
    worker.close()
    assert seen == list(range(50))

    def fail(_):
        raise OSError("disk full")

    worker = Background()
    worker.submit(fail, 1)
    with pytest.raises(OSError, match="disk full"):
        for i in range(100):
            worker.submit(seen.append, i)
        worker.close()
    worker.close()  # reported once


def test_public_names_and_the_error_class():
    import posenet.video as video

    assert video.VideoError is posenet.VideoError
    assert VideoInfo(1, 2, 3.0, 4).fps == 3.0 and not VideoFrame(0, 0.0, None).ok


class _StubModel:
    """A PoseModel stand-in: one pose per frame, shifted by the frame's mean brightness
    (in pixels), and the options it was called with."""

    family = "stub"

    def __init__(self) -> None:
        self.calls: list[PoseOptions] = []

    def info(self):  # pragma: no cover - not used
        raise NotImplementedError

    def estimate(self, image, options=None, **overrides):
        self.calls.append(options)
        shift = float(image.mean())
        keypoints = tuple(Keypoint(p, 0.9, Position(100 + 10 * i + shift, 20 + 12 * i))
                          for i, p in enumerate(posenet.PART_NAMES))
        return [Pose(0.9, keypoints)]

    def estimate_batch(self, images, options=None, **overrides):  # pragma: no cover - not used
        return [self.estimate(i, options) for i in images]


def test_process_video_yields_one_result_per_source_frame(small, tmp_path):
    path = tmp_path / "damaged.avi"
    damaged_mjpeg(small, path, frames=12, broken=5)
    model = _StubModel()
    with VideoReader(path) as reader:
        results = list(process_video(model, reader, "camera", tracker=PoseTracker()))
    assert all(isinstance(r, FrameResult) for r in results)
    assert [r.index for r in results] == list(range(12))
    assert [r.time_s for r in results] == pytest.approx([i / 29.97 for i in range(12)], abs=1e-3)
    bad = results[5]
    assert bad.image is None and bad.poses == () and bad.error == "failed to decode" and not bad.ok
    good = [r for r in results if r.ok]
    assert len(good) == 11 and len(model.calls) == 11
    assert all(r.image.shape == (240, 426, 3) and len(r.poses) == 1 and r.error is None for r in good)
    assert {r.track_ids for r in good} == {(1,)}  # the same person throughout
    assert model.calls[0] == posenet.pose_options("camera")


def test_process_video_smooths_and_matches_the_estimates_without_tracking(small):
    model = _StubModel()
    with VideoReader(small, end_s=0.5) as reader:
        plain = list(process_video(model, reader, PoseOptions(mode="single"), prefetch_size=0))
    with VideoReader(small, end_s=0.5) as reader:
        smoothed = list(process_video(model, reader, "reference", smoother=posenet.PoseSmoother(0.01, 0.0)))
    assert len(plain) == len(smoothed) == 15
    assert all(r.track_ids is None for r in plain + smoothed)
    raw = [r.poses[0].keypoints[0].position.x for r in plain]
    filtered = [r.poses[0].keypoints[0].position.x for r in smoothed]
    assert raw[0] == filtered[0]  # a filter starts at its first value
    assert np.ptp(filtered) < np.ptp(raw)  # heavy smoothing: less movement


def test_process_video_stops_the_prefetch_thread_when_closed(small):
    before = threading.active_count()
    with VideoReader(small) as reader:
        results = process_video(_StubModel(), reader, "camera")
        next(results)
        results.close()
        assert threading.active_count() == before


def test_process_video_with_the_real_model(models_dir, small):
    net = posenet.load()
    with VideoReader(small, end_s=0.2) as reader:
        frames = [f.image for f in reader]
    with VideoReader(small, end_s=0.2) as reader:
        results = list(process_video(net, reader, "camera"))
    assert [r.poses for r in results] == [tuple(net.estimate(image, "camera")) for image in frames]
