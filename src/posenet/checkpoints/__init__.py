"""The official PoseNet 2.x checkpoints: what exists, where it is, how to get it.

Lookup order for a checkpoint (``posenet.load`` without ``model_url``):

1. ``$POSENET_MODEL_DIR/<relative path>``: a folder laid out like the official URL tree
   (``mobilenet/float/075/model-stride16.json`` + shards), e.g. a shared or offline copy;
   official files there are checked against their published sha256 when loaded;
2. the user cache (``$POSENET_CACHE_DIR``, else ``$XDG_CACHE_HOME/posenet-py``, else
   ``~/.cache/posenet-py``), checked against the sha256 sums recorded at download;
3. the official URL (``$POSENET_BASE_URL`` for a mirror), downloaded once into the cache:
   all files checked before any is written, the model JSON written last.

A copy with missing shards counts as absent; ``posenet models fetch`` repairs it.
"""

from __future__ import annotations

from .catalog import (
    BASE_URL,
    WEIGHT_COUNTS,
    Checkpoint,
    all_checkpoints,
    base_url,
    by_name,
    find_checkpoint,
    validate_model_config,
)
from .download import MAX_DOWNLOAD_BYTES, Progress, download_model, fetch, resolve_model_json
from .store import (
    SUMS_FILE,
    CheckpointStatus,
    all_status,
    cache_dir,
    find_copy,
    known_checksums,
    locate,
    missing_files,
    model_dir,
    parse_sums,
    sha256,
    shard_names,
    status,
    verify,
    verify_files,
)

__all__ = [
    "BASE_URL", "MAX_DOWNLOAD_BYTES", "SUMS_FILE", "WEIGHT_COUNTS", "Checkpoint", "CheckpointStatus", "Progress",
    "all_checkpoints", "all_status", "base_url", "by_name", "cache_dir", "download_model", "fetch", "find_checkpoint",
    "find_copy", "known_checksums", "locate", "missing_files", "model_dir", "parse_sums", "resolve_model_json",
    "sha256", "shard_names", "status", "validate_model_config", "verify", "verify_files",
]
