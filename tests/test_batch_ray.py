"""The Ray engine and ``estimate_dataset`` on a local Ray started here (2 CPUs, 200 MB of
object store, no dashboard), shut down at the end even when a test fails."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

from posenet import ModelConfig, create_detector  # noqa: E402
from posenet.batch import RayOptions, estimate_dataset, run_batch  # noqa: E402
from posenet.images import decode_image  # noqa: E402
from posenet.serialize import image_record  # noqa: E402

from .test_batch import EVERY, OPTIONS, check_against, make_sources, plain_loop, time_limit  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")]


@pytest.fixture(scope="module")
def local_ray(models_dir: Path) -> Iterator[None]:
    env = {k: v for k, v in os.environ.items() if k.startswith("POSENET_")}
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 * 1024 * 1024, log_to_driver=False,
             logging_level=logging.WARNING, runtime_env={"env_vars": env})
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def batch_sources(coco_dir: Path, video_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return make_sources(coco_dir, video_dir, tmp_path_factory.mktemp("corrupt"))


@pytest.fixture(scope="module")
def reference(batch_sources: list[str], models_dir: Path) -> dict[str, dict[str, Any]]:
    pytest.importorskip("cv2")
    return plain_loop(batch_sources, OPTIONS, EVERY)


def test_ray_engine_matches_the_plain_loop_and_resumes(local_ray: None, tmp_path: Path, batch_sources: list[str],
                                                       reference: dict[str, Any]) -> None:
    """Stopped after 50 items, then finished: each item once, as the plain loop has it.
    On 2 CPUs, 2 actors and the read tasks fit because each asks for a fraction of a CPU
    (the defaults, then other fractions); the actors write the parts themselves."""
    out = tmp_path / "job"
    with time_limit(150):
        first = run_batch(batch_sources, out, None, OPTIONS, engine="ray", workers=2, every=EVERY, fmt="parquet",
                          max_items=50, ray=RayOptions())
        assert (first.processed, first.remaining) == (50, len(reference) - 50)
        second = run_batch(batch_sources, out, None, OPTIONS, engine="ray", workers=2, every=EVERY, fmt="parquet",
                           ray=RayOptions(actor_cpus=0.4, read_cpus=0.2))
    assert (second.skipped, second.processed, second.complete) == (50, len(reference) - 50, True)
    assert (second.ok, second.failed) == (len(reference) - 1, 1)
    assert ray.is_initialized()  # a Ray the job did not start is left running
    parts = [p.name.split("-") for p in out.glob("part-*.parquet")]  # part-<date>-<run>-<actor>-<n>.parquet
    assert not list(out.glob("part-*.jsonl")) and len({(run, actor) for _, _, run, actor, _ in parts}) <= 4
    assert first.startup_s > 0 and second.steady_items_per_s > 0
    check_against(reference, out)


def test_estimate_dataset_maps_images_and_paths_to_records(local_ray: None, coco_dir: Path,
                                                           tmp_path: Path) -> None:
    paths = sorted(str(p) for p in coco_dir.glob("*.jpg"))[:6]
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"not an image")
    model = create_detector("posenet", ModelConfig())
    expected = {p: image_record(*decode_image(p).shape[1::-1], model.estimate(decode_image(p), OPTIONS))
                for p in paths}
    with time_limit(120):
        images = ray.data.from_items([{"path": p, "image": decode_image(p), "n": i} for i, p in enumerate(paths)])
        by_image = estimate_dataset(images, None, OPTIONS, concurrency=2).take_all()
        by_path = estimate_dataset(ray.data.from_items([{"path": p} for p in [*paths, str(corrupt)]]), None, OPTIONS,
                                   decode=True, concurrency=1).take_all()
    assert sorted(by_image[0]) == ["error", "height", "n", "path", "poses", "width"]  # pixels dropped
    for row in by_image + by_path:
        if row["path"] != str(corrupt):
            got = {"width": row["width"], "height": row["height"], "poses": row["poses"]}
            assert row["error"] is None and got == expected[row["path"]], row["path"]
    (bad,) = [r for r in by_path if r["path"] == str(corrupt)]
    assert "cannot decode" in bad["error"] and bad["poses"] is None and bad["width"] is None
    assert len(by_image) == len(paths) and len(by_path) == len(paths) + 1
