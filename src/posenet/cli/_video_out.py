"""Where ``posenet video`` puts each frame's result: the annotated video (drawn with
OpenCV in place and encoded in a background thread, in order, while the next frame is
estimated) and the JSON lines; failed frames reported in runs."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from posenet import PoseModel, PoseOptions, PoseSmoother, PoseTracker
from posenet.draw import draw_poses_cv
from posenet.serialize import dumps, frame_record

from ._files import close_output, open_output
from ._output import Console, plural, progress_bar

if TYPE_CHECKING:
    from posenet.video import FrameResult, VideoReader, VideoWriter

PAUSE_S = 0.5
"""A gap between two frames longer than this (and 5 frame intervals) gets a warning."""


def _draw_and_write(writer: VideoWriter, result: FrameResult, options: PoseOptions, boxes: bool,
                    skeleton: tuple[tuple[int, int], ...]) -> None:
    assert result.image is not None
    writer.write(draw_poses_cv(result.image, result.poses, options.min_part_score, options.min_pose_score, boxes,
                               result.track_ids, in_place=True, skeleton=skeleton))


class Outputs:
    """The video (a temporary file until :meth:`close` keeps it) and the JSON lines."""

    def __init__(self, args: argparse.Namespace, json_target: str | None, reader: VideoReader,
                 skeleton: tuple[tuple[int, int], ...]) -> None:
        from posenet.video import Background, VideoWriter

        self.options: PoseOptions = args.pose_options
        self.skeleton = skeleton  # the model's edges (model.info().skeleton)
        self.boxes: bool = args.boxes
        self.background = Background()
        self.writer: VideoWriter | None = None
        self.sink: IO[str] | None = None
        info = reader.info
        self.black = np.zeros((info.height, info.width, 3), np.uint8)
        self.count, self.last_index = 0, -1  # frames put
        try:
            if args.out:
                self.writer = VideoWriter(args.out, info.width, info.height, info.fps, args.fourcc)
            self.sink = open_output(json_target) if json_target else None
        except BaseException:
            self.close(keep=False)
            raise

    def put(self, result: FrameResult) -> None:
        """Queue the frame for the video (black if it was not had); write its JSON line."""
        if self.writer is not None:
            if result.image is None:
                self.background.submit(self.writer.write, self.black)
            else:
                self.background.submit(_draw_and_write, self.writer, result, self.options, self.boxes, self.skeleton)
        if self.sink is not None:
            record = frame_record(result.index, result.time_s, result.poses, result.track_ids, result.error)
            self.sink.write(dumps(record) + "\n")
            self.sink.flush()  # each line on disk as it comes
        self.count, self.last_index = self.count + 1, result.index

    def finish(self) -> None:
        """Wait for the queued frames; re-raise a drawing or encoding error."""
        self.background.close()

    def close(self, keep: bool) -> None:
        """Finish the video and put it in place (``keep``), or delete it; close the JSON."""
        try:
            self.background.close()
        finally:
            try:
                if self.writer is not None and keep:
                    self.writer.close()
                elif self.writer is not None:
                    self.writer.discard()
            finally:
                close_output(self.sink)


@dataclass
class Tally:
    """Frames seen, and those not had: ``missing`` from the file, ``undecoded``."""

    frames: int = 0
    missing: int = 0
    undecoded: int = 0
    last_index: int = -1
    last_time: float | None = None
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        return self.missing + self.undecoded


class FailureLog:
    """Frames not had, one line per run of them (``frames 146-299 (4.871-9.977 s):
    missing from the file; written black``); long gaps between frames, as warnings."""

    def __init__(self, console: Console, fps: float, video: bool) -> None:
        from posenet.video import DECODE_FAILED

        self.console, self.fps, self.video, self.undecodable = console, fps, video, DECODE_FAILED
        self.tally = Tally()
        self._run: list[FrameResult] = []

    def add(self, result: FrameResult) -> None:
        t = self.tally
        if t.last_time is not None and result.time_s - t.last_time > max(PAUSE_S, 5.0 / self.fps):
            self.console.warning(f"no frame between {t.last_time:.3f} s and {result.time_s:.3f} s (frames "
                                 f"{t.last_index} and {result.index}): frames lost from the file, or a pause")
        t.frames, t.last_index, t.last_time = t.frames + 1, result.index, result.time_s
        if result.ok:
            self.flush()
            return
        if self._run and self._run[-1].error != result.error:
            self.flush()
        self._run.append(result)
        if result.error == self.undecodable:
            t.undecoded += 1
        else:
            t.missing += 1

    def flush(self) -> None:
        if not self._run:
            return
        first, last = self._run[0], self._run[-1]
        where = (f"frame {first.index} ({first.time_s:.3f} s)" if first is last else
                 f"frames {first.index}-{last.index} ({first.time_s:.3f}-{last.time_s:.3f} s)")
        self.console.error(f"{where}: {first.error}" + ("; written black" if self.video else ""))
        self._run = []


def annotate(model: PoseModel, reader: VideoReader, args: argparse.Namespace, json_target: str | None,
             console: Console) -> Tally:
    """Run the pipeline over the reader into the outputs. Interrupted, the outputs keep
    the frames done (the video finished properly); on an error the video is deleted."""
    tracker = PoseTracker(args.track_oks, args.track_max_age) if args.track else None
    smoother = PoseSmoother(args.smooth_min_cutoff, args.smooth_beta) if args.smooth else None
    outputs = Outputs(args, json_target, reader, model.info().skeleton)
    log = FailureLog(console, reader.info.fps, outputs.writer is not None)
    try:
        _loop(model, reader, args, outputs, log, console, tracker, smoother)
    except KeyboardInterrupt:
        outputs.close(keep=True)
        kept = [str(p) for p in (args.out, json_target) if p and p != "-"]
        if kept and outputs.count:
            console.info(f"stopped after {plural(outputs.count, 'frame')} (up to frame {outputs.last_index}); "
                         f"{' and '.join(kept)} hold them")
        raise
    except BaseException:
        outputs.close(keep=False)
        raise
    outputs.close(keep=True)
    return log.tally


def _loop(model: PoseModel, reader: VideoReader, args: argparse.Namespace, outputs: Outputs, log: FailureLog,
          console: Console, tracker: PoseTracker | None, smoother: PoseSmoother | None) -> None:
    from posenet.video import process_video

    results = process_video(model, reader, args.pose_options, tracker=tracker, smoother=smoother)
    bar: Any = progress_bar(console, total=reader.frames_in_range(), unit="frame")
    start = time.perf_counter()
    try:
        for result in results:
            log.add(result)
            outputs.put(result)
            if bar is not None:
                bar.update()
        outputs.finish()
        log.tally.seconds = time.perf_counter() - start
    finally:
        if bar is not None:
            bar.close()
        results.close()  # stops the prefetch thread before the reader is closed
        log.flush()
