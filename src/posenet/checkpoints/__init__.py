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

The other families' model files (MoveNet, BlazePose) are found the same way by name
(:func:`resolve_graph_model`, :mod:`posenet.checkpoints.graph_models`): an explicit path or
URL, the family's folder setting (``$POSENET_MOVENET_DIR``, ``$POSENET_BLAZEPOSE_DIR``), the
cache, then a checksum-verified download (``$POSENET_GRAPH_MODELS_BASE_URL`` for a mirror).
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
from .graph_models import (
    BASE_URL_ENV,
    FAMILY_DIR_ENV,
    GRAPH_MODELS_BASE_URL,
    GraphModel,
    GraphModelFile,
    GraphModelStatus,
    GraphModelUnavailableError,
    all_graph_models,
    fetch_graph_model,
    find_graph_copy,
    graph_base_url,
    graph_model,
    graph_status,
    resolve_graph_model,
    verify_graph_model,
)
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
    "BASE_URL", "BASE_URL_ENV", "FAMILY_DIR_ENV", "GRAPH_MODELS_BASE_URL", "MAX_DOWNLOAD_BYTES", "SUMS_FILE",
    "WEIGHT_COUNTS", "Checkpoint", "CheckpointStatus", "GraphModel", "GraphModelFile", "GraphModelStatus",
    "GraphModelUnavailableError", "Progress", "all_checkpoints", "all_graph_models", "all_status", "base_url",
    "by_name", "cache_dir", "download_model", "fetch", "fetch_graph_model", "find_checkpoint", "find_copy",
    "find_graph_copy", "graph_base_url", "graph_model", "graph_status", "known_checksums", "locate",
    "missing_files", "model_dir", "parse_sums", "resolve_graph_model", "resolve_model_json", "sha256",
    "shard_names", "status", "validate_model_config", "verify", "verify_files", "verify_graph_model",
]
