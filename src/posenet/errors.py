"""Exceptions: each message names the problem and how to fix it."""

from __future__ import annotations


class PoseNetError(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidImageError(PoseNetError, ValueError):
    """The image could not be read or has an unsupported shape, dtype or mode."""


class ModelFormatError(PoseNetError, ValueError):
    """A model file is not a valid TF.js graph model (bad JSON, short or missing shard, ...)."""


class UnsupportedOpError(ModelFormatError):
    """The graph uses an operation this package cannot execute."""


class CheckpointUnavailableError(PoseNetError, FileNotFoundError):
    """A checkpoint is neither on disk nor downloadable (offline, or a 404)."""


class ChecksumMismatchError(PoseNetError):
    """A cached file's sha256 differs from the one recorded when it was downloaded."""


class ImageTooLargeError(InvalidImageError):
    """An image has more pixels than the limit in force (a server's ``max_pixels``, say)."""


class VideoError(PoseNetError):
    """A video could not be opened, read or written."""
