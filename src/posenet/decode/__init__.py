"""Decoders: network output maps -> poses in model-input pixels (``single`` and ``multi``,
as ``decodeSinglePose`` and ``decodeMultiplePoses`` of PoseNet 2.2.2)."""

from __future__ import annotations

from .max_heap import MaxHeap
from .multi import build_part_with_score_queue, decode_multiple_poses
from .single import decode_single_pose

__all__ = ["MaxHeap", "build_part_with_score_queue", "decode_multiple_poses", "decode_single_pose"]
