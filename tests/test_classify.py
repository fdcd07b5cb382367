"""posenet.classify: load -> preprocess -> predict -> top-k with the shared MobileNetV2 classifier;
``posenet classify``; and the same probabilities as the JavaScript pipeline (TF.js 4.22, Node.js)."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from posenet.classify import Classifier, Prediction, load_classifier, preprocess, resize_bilinear
from posenet.cli import main
from posenet.errors import ModelFormatError
from posenet.images import decode_image

from .conftest import PHOTOS_DIR, SHARED_DIR
from .reference_tfjs4 import GraphModelWorker, require_tfjs4

CLASSIFIER_DIR = SHARED_DIR / "models" / "classifier" / "mobilenet_v2"
LABELS = ("Drawing", "Hentai", "Neutral", "Porn", "Sexy")


@functools.cache
def classifier() -> Classifier:
    if not CLASSIFIER_DIR.is_dir():
        pytest.skip(f"{CLASSIFIER_DIR} is missing: set POSENET_SHARED_DIR to the shared data folder")
    return load_classifier(CLASSIFIER_DIR, num_threads=1)


def photos() -> list[Path]:
    if not PHOTOS_DIR.is_dir():
        pytest.skip(f"{PHOTOS_DIR} is missing: set POSENET_SHARED_DIR to the shared data folder")
    return sorted(p for p in PHOTOS_DIR.iterdir() if p.suffix.lower() in (".jpg", ".png"))


def _tfjs_resize_scalar(x: np.ndarray, size: tuple[int, int], align: bool) -> np.ndarray:
    """TF.js's cpu resizeBilinear loop, written out element by element (float64, as JavaScript)."""
    old_h, old_w, channels = x.shape
    eff = [(old_h - 1 if align and size[0] > 1 else old_h) / (size[0] - 1 if align and size[0] > 1 else size[0]),
           (old_w - 1 if align and size[1] > 1 else old_w) / (size[1] - 1 if align and size[1] > 1 else size[1])]
    out = np.zeros((*size, channels), np.float32)
    for r in range(size[0]):
        src_r = eff[0] * r
        r0, r1 = max(0, int(np.floor(src_r))), min(old_h - 1, int(np.ceil(src_r)))
        for c in range(size[1]):
            src_c = eff[1] * c
            c0, c1 = max(0, int(np.floor(src_c))), min(old_w - 1, int(np.ceil(src_c)))
            for d in range(channels):
                tl, tr, bl, br = (float(x[r0, c0, d]), float(x[r0, c1, d]), float(x[r1, c0, d]), float(x[r1, c1, d]))
                top = tl + (tr - tl) * (src_c - c0)
                bottom = bl + (br - bl) * (src_c - c0)
                out[r, c, d] = top + (bottom - top) * (src_r - r0)
    return out


@pytest.mark.parametrize("align", [True, False])
@pytest.mark.parametrize("size", [(7, 5), (3, 11), (1, 4)])
def test_resize_bilinear_is_the_tfjs_loop(align: bool, size: tuple[int, int]) -> None:
    x = np.random.default_rng(0).random((6, 8, 3)).astype(np.float32)
    np.testing.assert_array_equal(resize_bilinear(x, size, align_corners=align),
                                  _tfjs_resize_scalar(x, size, align))
    batch = resize_bilinear(np.stack([x, x[::-1]]), size, align_corners=align)
    np.testing.assert_array_equal(batch[0], resize_bilinear(x, size, align_corners=align))


def test_preprocess_divides_by_255_and_keeps_corners() -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (300, 200, 3), dtype=np.uint8)
    x = preprocess(rgb)
    assert x.shape == (224, 224, 3) and x.dtype == np.float32
    for (r, c), (sr, sc) in {(0, 0): (0, 0), (0, -1): (0, -1), (-1, 0): (-1, 0), (-1, -1): (-1, -1)}.items():
        np.testing.assert_array_equal(x[r, c], rgb[sr, sc].astype(np.float32) / np.float32(255))  # alignCorners
    same = np.random.default_rng(2).integers(0, 256, (224, 224, 3), dtype=np.uint8)
    np.testing.assert_array_equal(preprocess(same), same.astype(np.float32) / np.float32(255))  # no resize


def test_classify_top_k() -> None:
    model = classifier()
    assert model.labels == LABELS and model.size == 224
    photo = photos()[0]
    predictions = model.classify(photo)
    assert [type(p) for p in predictions] == [Prediction] * 5
    assert sorted(p.label for p in predictions) == sorted(LABELS)
    probabilities = [p.probability for p in predictions]
    assert probabilities == sorted(probabilities, reverse=True)
    assert sum(probabilities) == pytest.approx(1, abs=1e-5)
    assert model.classify(decode_image(photo), top_k=2) == predictions[:2]
    batch = model.classify_batch([photo, photos()[1]], top_k=3)
    assert len(batch) == 2 and [p.label for p in batch[0]] == [p.label for p in predictions[:3]]
    for got, want in zip(batch[0], predictions, strict=False):
        assert got.probability == pytest.approx(want.probability, abs=1e-6)
    assert model.probabilities([]).shape == (0, 5)
    with pytest.raises(ValueError, match="top_k"):
        model.classify(photo, top_k=0)
    assert model.top_k(np.array([0.2, 0.3, 0.3, 0.1, 0.1]), 3) == [
        Prediction("Hentai", 0.3), Prediction("Neutral", 0.3), Prediction("Drawing", 0.2)]  # ties: label order


def test_labels_must_match_the_model(tmp_path: Path) -> None:
    classifier()  # skips without the shared data
    with pytest.raises(ModelFormatError, match=r"5 classes but labels\.txt names 2"):
        load_classifier(CLASSIFIER_DIR / "model.json", labels=["a", "b"])
    (tmp_path / "model.json").write_text("{}")
    with pytest.raises(ModelFormatError, match="labels"):
        load_classifier(tmp_path)


def test_cli_classify_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = classifier()
    chosen = photos()[:2]
    out = tmp_path / "classes.json"
    code = main(["classify", *map(str, chosen), str(tmp_path / "missing.jpg"), "--model", str(CLASSIFIER_DIR),
                 "--top-k", "2", "--json", str(out), "-q"])
    assert code == 1  # one input was missing; the others are still classified
    result = json.loads(out.read_text())
    assert list(result) == [*map(str, chosen), str(tmp_path / "missing.jpg")]
    assert "error" in result[str(tmp_path / "missing.jpg")]
    for path in chosen:
        expected = model.classify(path, top_k=2)
        got = result[str(path)]["predictions"]
        assert [p["label"] for p in got] == [p.label for p in expected]
        assert [p["probability"] for p in got] == pytest.approx([p.probability for p in expected], abs=1e-6)
    assert main(["classify", str(chosen[0]), "--model", str(CLASSIFIER_DIR), "--json", str(out), "-q"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["classify", str(chosen[0]), "--model", str(CLASSIFIER_DIR), "-q"]) == 0
    assert list(json.loads(capsys.readouterr().out)) == [str(chosen[0])]


def test_cli_export_round_trip(tmp_path: Path) -> None:
    import onnxruntime as ort

    model = classifier()
    out = tmp_path / "classifier.onnx"
    assert main(["export", str(CLASSIFIER_DIR), "--out", str(out), "-q"]) == 0
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = model.preprocess(photos()[0])[None]
    np.testing.assert_array_equal(session.run(None, {"input:0": x})[0], model.model.predict(x))
    assert main(["export", str(CLASSIFIER_DIR), "--out", str(out), "-q"]) == 1  # exists, no --overwrite
    assert main(["export", str(CLASSIFIER_DIR), "--out", str(out), "--overwrite", "-q"]) == 0


@pytest.fixture(scope="module")
def worker() -> Iterator[GraphModelWorker]:
    require_tfjs4()
    with GraphModelWorker(timeout=180) as ref:
        yield ref


@pytest.mark.reference
@pytest.mark.slow
def test_probabilities_equal_the_javascript_pipeline(worker: GraphModelWorker) -> None:
    """Preprocessing bit for bit, probabilities within 1e-4, on every shared photo."""
    model = classifier()
    handle, _ = worker.load(CLASSIFIER_DIR / "model.json")
    try:
        for photo in photos():
            rgb = decode_image(photo)
            js_input = worker.classify_preprocess(rgb)
            np.testing.assert_array_equal(model.preprocess(rgb)[None], js_input, err_msg=str(photo))
            js = worker.execute(handle, {"input:0": js_input})["Identity:0"]
            np.testing.assert_allclose(model.probabilities([rgb]), js, rtol=0, atol=1e-4, err_msg=str(photo))
            assert [p.label for p in model.classify(rgb)] == [LABELS[i] for i in np.argsort(-js[0], kind="stable")]
    finally:
        worker.unload(handle)
