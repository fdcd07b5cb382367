"""Shared test settings: where the data beside the repo lives.

One setting, ``POSENET_SHARED_DIR`` (default ``../shared`` next to the checkout), locates the
official weights and the real photos/videos; nothing from there is copied into the repo.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("POSENET_SHARED_DIR", REPO_ROOT.parent / "shared")).resolve()
MODELS_DIR = SHARED_DIR / "models" / "posenet"
PHOTOS_DIR = SHARED_DIR / "data" / "photos"
COCO_DIR = SHARED_DIR / "data" / "coco_train2017"
VIDEO_DIR = SHARED_DIR / "data" / "video"

# Library code finds checkpoints through POSENET_MODEL_DIR; point it at the shared copy
# unless the caller already chose a folder.
if MODELS_DIR.is_dir():
    os.environ.setdefault("POSENET_MODEL_DIR", str(MODELS_DIR))
if (SHARED_DIR / "models" / "movenet").is_dir():
    os.environ.setdefault("POSENET_MOVENET_DIR", str(SHARED_DIR / "models" / "movenet"))
os.environ.setdefault("POSENET_BLAZEPOSE_DIR", str(SHARED_DIR / "models" / "blazepose"))


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is missing: set POSENET_SHARED_DIR to the shared data folder")
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return _require(SHARED_DIR)


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return _require(MODELS_DIR)


@pytest.fixture(scope="session")
def photos_dir() -> Path:
    return _require(PHOTOS_DIR)


@pytest.fixture(scope="session")
def coco_dir() -> Path:
    return _require(COCO_DIR)


@pytest.fixture(scope="session")
def video_dir() -> Path:
    return _require(VIDEO_DIR)


@pytest.fixture(scope="session")
def photo_paths(photos_dir: Path) -> list[Path]:
    return sorted(p for p in photos_dir.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
