"""Video reading and writing on the shared videos and on a damaged copy; the pipeline."""

from __future__ import annotations

import os
import threading
from fractions import Fraction

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
av = pytest.importorskip("av")

import posenet  # noqa: E402
from posenet import Keypoint, Pose, PoseOptions, Position  # noqa: E402
from posenet.tracking import PoseTracker  # noqa: E402
from posenet.video import (  # noqa: E402
    FRAME_MISSING,
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
from posenet.video.avi import align  # noqa: E402
from posenet.video.timeline import fill_gaps  # noqa: E402

try:
    from .video_helpers import cut_in_half, damaged_mjpeg, mjpeg_avi, with_a_hole
except ImportError:  # tests/ run as a plain folder
    from video_helpers import cut_in_half, damaged_mjpeg, mjpeg_avi, with_a_hole  # type: ignore[no-redef]

SMALL = "mmaction2__test_video_structuralize.mp4"  # 426x240, 300 frames, 29.97 fps


@pytest.fixture(scope="module")
def small(video_dir):
    return video_dir / SMALL


@pytest.fixture(scope="module")
def small_avi(small, tmp_path_factory):
    """The whole small clip as an MJPEG AVI (300 frames, an idx1 index)."""
    return mjpeg_avi(small, tmp_path_factory.mktemp("avi") / "full.avi")


def _images(path, **kw):
    with VideoReader(path, **kw) as reader:
        return list(reader)


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
        reader._timeline = None  # as with a backend that cannot list packets
        frames = list(reader)
    assert [f.index for f in frames] == list(range(12))
    assert [f.index for f in frames if not f.ok] == [5]


def test_missing_or_unreadable_file(tmp_path):
    with pytest.raises(VideoError, match="no such file"):
        VideoReader(tmp_path / "nope.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    with pytest.raises(VideoError, match=r"junk\.mp4: not a video file OpenCV can read"):
        VideoReader(junk)


def test_a_text_file_a_photo_or_a_folder_is_blamed_as_the_input(tmp_path, photos_dir):
    text = tmp_path / "notes.jpg"
    text.write_text("hello")
    with pytest.raises(VideoError, match=r"notes\.jpg: not a video file"):
        VideoReader(text)
    with pytest.raises(VideoError, match=r"p1\.jpg is a still image, not a video"):
        VideoReader(photos_dir / "tfpose__p1.jpg")
    with pytest.raises(VideoError, match="is a folder, not a video file"):
        VideoReader(tmp_path)


@pytest.mark.parametrize("suffix", [".mp4", ".avi", ".webm", ".mkv"])
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


def test_mp4_is_h264_that_browsers_play(tmp_path):
    path = tmp_path / "out.mp4"
    with VideoWriter(path, 64, 48, 30000 / 1001) as writer:
        for i in range(12):
            writer.write(np.full((48, 64, 3), 20 * i, np.uint8))
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        assert stream.frames == 12 and stream.average_rate == Fraction(30000, 1001)
    head = path.read_bytes()[:4096]
    assert head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head  # faststart: playable while loading


@pytest.mark.parametrize("suffix", [".mp4", ".avi", ".webm"])
def test_odd_sizes_are_padded_by_one_pixel(tmp_path, suffix):
    # OpenCV alone scaled 641x359 to 640x358; 4:2:0 needs even sizes: pad, keep every pixel
    path = tmp_path / f"odd{suffix}"
    frame = np.zeros((359, 641, 3), np.uint8)
    frame[:, 320:] = 200
    with VideoWriter(path, 641, 359, 25.0) as writer:
        assert writer.size == (642, 360) and writer.source_size == (641, 359)
        for _ in range(3):
            writer.write(frame)
    (back, *_) = _images(path)
    assert back.image.shape == (360, 642, 3)
    assert abs(int(back.image[100, 641].mean()) - 200) <= 8 and abs(int(back.image[359, 600].mean()) - 200) <= 8


def test_writer_writes_a_complete_file_or_none(tmp_path):
    path = tmp_path / "out.mp4"
    path.write_bytes(b"old")
    frame = np.zeros((48, 64, 3), np.uint8)
    with pytest.raises(RuntimeError), VideoWriter(path, 64, 48, 25.0) as writer:
        writer.write(frame)
        assert path.read_bytes() == b"old"  # frames go to a temporary file
        raise RuntimeError("interrupted")
    assert path.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]
    with VideoWriter(path, 64, 48, 25.0) as writer:
        writer.write(frame)
    assert len(_images(path)) == 1 and sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600
    with VideoWriter(tmp_path / "empty.mp4", 64, 48, 25.0):
        pass
    assert not (tmp_path / "empty.mp4").exists()  # no frames: no file


def test_writer_rejects_bad_frames_and_extensions(tmp_path):
    with VideoWriter(tmp_path / "a.mp4", 64, 48, 25.0) as writer, pytest.raises(ValueError):
        writer.write(np.zeros((64, 48, 3), np.uint8))
    with pytest.raises(VideoError, match="codec"):
        VideoWriter(tmp_path / "a.xyz", 64, 48, 25.0)


def test_fill_gaps_places_missing_frames_in_the_widest_gaps():
    step = 1 / 30
    times = [i * step for i in range(10) if i not in (3, 7)]
    assert sorted(fill_gaps(times, 2)) == pytest.approx([3 * step, 7 * step])
    assert fill_gaps([0.0, 0.1], 1) == pytest.approx([0.2])
    assert fill_gaps(times, 0) == []


# ------------------------------------------------------------------- frames lost from the file


def test_frames_lost_from_a_file_cut_in_half_are_reported_in_place(small_avi, tmp_path):
    # the review's case: OpenCV reads 146 frames and says nothing of the other 154
    path = cut_in_half(small_avi, tmp_path / "half.avi")
    with VideoReader(path) as reader:
        assert reader.info.frame_count == 300 and reader.frames_in_range() == 300 and reader.lost == 154
        frames = list(reader)
    assert [f.index for f in frames] == list(range(300))
    assert [f.index for f in frames if f.missing] == list(range(146, 300))
    assert all(f.ok for f in frames[:145])
    assert [f.time_s for f in frames] == pytest.approx([i / 29.97 for i in range(300)], abs=1e-6)


def test_frames_after_a_hole_keep_their_source_numbers(small_avi, tmp_path):
    path = with_a_hole(small_avi, tmp_path / "hole.avi", 100, 150)
    frames = _images(path)
    assert [f.index for f in frames] == list(range(300))
    assert [f.index for f in frames if not f.ok] == list(range(100, 150))
    assert all(f.missing for f in frames if not f.ok)
    whole = _images(small_avi)
    for i in (99, 150, 200, 299):  # the same pictures under the same numbers
        assert np.array_equal(frames[i].image, whole[i].image), i


def test_the_avi_index_places_each_chunk():
    index = [10, 11, 12, 13, 14, 15, 16]
    assert align([10, 11, 12, 13, 14, 15, 16], index) == list(range(7))
    assert align([10, 11, 15, 16], index) == [0, 1, 5, 6]  # a hole
    assert align([10, 12, 11], index) is None  # not in order: no alignment
    assert align([10, 20], index) is None
    assert align([5, 5, 6], [5, 5, 5, 5, 6]) == [0, 1, 4]  # equal sizes: the next one's decides


def test_matroska_cut_short_loses_frames_at_the_end(small, tmp_path):
    # Matroska stores a duration but no frame count: frames up to the duration are expected
    whole = tmp_path / "whole.mkv"
    with VideoReader(small) as reader, VideoWriter(whole, 426, 240, reader.info.fps) as writer:
        for frame in reader:
            writer.write(frame.image)
    half = tmp_path / "half.mkv"
    half.write_bytes(whole.read_bytes()[:whole.stat().st_size // 2])
    frames = _images(half)
    assert [f.index for f in frames] == list(range(300))
    assert all(f.missing for f in frames[200:]) and sum(f.ok for f in frames) > 100


def test_variable_frame_rate_matroska_has_no_false_losses(video_dir, tmp_path):
    # the 1080p clip's 200 ms pause, in a container without a frame count
    out = tmp_path / "vfr.mkv"
    with av.open(str(video_dir / "mmaction2__demo_skeleton.mp4")) as src, av.open(str(out), "w") as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    frames = _images(out)
    assert len(frames) == 72 and all(f.ok for f in frames)


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
        self.timestamps: list[float | None] = []
        self.resets = 0

    def info(self):  # pragma: no cover - not used
        raise NotImplementedError

    def reset(self) -> None:
        self.resets += 1

    def estimate(self, image, options=None, *, timestamp_ms=None, **overrides):
        self.calls.append(options)
        self.timestamps.append(timestamp_ms)
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


def test_process_video_reports_lost_frames_as_missing(small_avi, tmp_path):
    path = with_a_hole(small_avi, tmp_path / "hole.avi", 3, 5)
    with VideoReader(path, end_s=0.3) as reader:
        results = list(process_video(_StubModel(), reader, "camera"))
    assert [r.index for r in results] == list(range(9))
    assert [r.error for r in results[2:6]] == [None, FRAME_MISSING, FRAME_MISSING, None]


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


def test_process_video_resets_the_model_and_passes_each_frame_time(small):
    model = _StubModel()
    with VideoReader(small, end_s=0.2) as reader:
        results = list(process_video(model, reader, "camera"))
    assert model.resets == 1
    assert model.timestamps == [r.time_s * 1000.0 for r in results]
    assert model.timestamps == sorted(model.timestamps) and model.timestamps[1] == pytest.approx(1000 / 29.97, abs=0.5)


@pytest.mark.parametrize("family", ["movenet-lightning", "movenet-multipose"])
def test_a_movenet_video_gives_the_poses_of_frame_by_frame_calls(small, family):
    """The stateful model follows the video (crop, One-Euro filters, tracker over the frame
    times): process_video equals reset + estimate(frame, timestamp_ms=time_s * 1000) in order,
    also when the detector was used on something else before."""
    try:
        detector = posenet.create_detector(family)
    except (OSError, posenet.PoseNetError) as exc:  # pragma: no cover - no shared data
        pytest.skip(f"{family} unavailable: {exc}")
    with VideoReader(small, end_s=0.4) as reader:
        frames = [(f.image, f.time_s) for f in reader]
    detector.reset()
    expected = [tuple(detector.estimate(image, "camera", timestamp_ms=t * 1000.0)) for image, t in frames]
    detector.estimate(frames[-1][0], "camera", timestamp_ms=99_000.0)  # state left behind: reset must clear it
    with VideoReader(small, end_s=0.4) as reader:
        results = list(process_video(detector, reader, "camera"))
    assert [r.poses for r in results] == expected
    without_times = [tuple(detector.estimate(image, "camera")) for image, _ in frames]
    assert without_times != expected or family.endswith("multipose")  # the timestamps matter (smoothing)
