"""Bad model files: every one gets a ModelFormatError that names the file and the field or
weight at fault, before anything is run (docs/bad-inputs.md, "Model files")."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import posenet
from posenet.errors import ModelFormatError
from posenet.graph import read_graph_model

CHECKPOINT = "mobilenet/float/050"
JSON_NAME = "model-stride16.json"


@pytest.fixture()
def model_copy(models_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the MobileNetV1 0.50 float checkpoint; returns its model JSON."""
    folder = tmp_path / "m"
    shutil.copytree(models_dir / CHECKPOINT, folder)
    return folder / JSON_NAME


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    model = json.loads(path.read_text())
    change(model)
    path.write_text(json.dumps(model))


def _weights(model: dict[str, Any]) -> list[dict[str, Any]]:
    return model["weightsManifest"][0]["weights"]  # type: ignore[no-any-return]


def _offset_of(model: dict[str, Any], name: str) -> int:
    offset = 0
    for spec in _weights(model):
        if spec["name"] == name:
            return offset
        offset += int(np.prod(spec["shape"])) * 4
    raise KeyError(name)


def _raises(path: Path, *fragments: str) -> str:
    with pytest.raises(ModelFormatError) as info:
        read_graph_model(path)
    text = str(info.value)
    assert str(path) in text, text
    for fragment in fragments:
        assert fragment in text, text
    return text


def test_the_copy_loads(model_copy: Path) -> None:
    assert read_graph_model(model_copy).architecture == "MobileNetV1"


def test_a_shard_outside_the_model_folder_is_refused(model_copy: Path) -> None:
    outside = model_copy.parent.parent / "outside"
    outside.mkdir()
    shard = model_copy.parent / "group1-shard1of1.bin"
    shutil.move(shard, outside / shard.name)
    _edit(model_copy, lambda m: m["weightsManifest"][0].update(paths=["../outside/group1-shard1of1.bin"]))
    _raises(model_copy, "leaves the model folder")


@pytest.mark.parametrize("entry", ["/dev/zero", "/etc/passwd", "C:\\x.bin", ""])
def test_absolute_or_odd_shard_paths_are_refused(model_copy: Path, entry: str) -> None:
    _edit(model_copy, lambda m: m["weightsManifest"][0].update(paths=[entry]))
    _raises(model_copy, "not a plain relative file name")


def test_a_link_to_a_device_is_refused(model_copy: Path) -> None:
    shard = model_copy.parent / "group1-shard1of1.bin"
    shard.unlink()
    os.symlink("/dev/zero", shard)
    _raises(model_copy, "leaves the model folder")


def test_a_shard_larger_than_declared_is_not_read(model_copy: Path) -> None:
    shard = model_copy.parent / "group1-shard1of1.bin"
    with shard.open("ab") as f:
        f.write(b"\0" * 1000)
    _raises(model_copy, "do not belong to this model JSON")


@pytest.mark.parametrize("weight", ["MobilenetV1/heatmap_2/weights", "MobilenetV1/Conv2d_13_depthwise/depthwise_weights"])
def test_nan_weights_are_refused_by_name(model_copy: Path, weight: str) -> None:
    offset = _offset_of(json.loads(model_copy.read_text()), weight)
    shard = model_copy.parent / "group1-shard1of1.bin"
    data = bytearray(shard.read_bytes())
    data[offset:offset + 4] = np.float32(np.nan).tobytes()
    shard.write_bytes(bytes(data))
    _raises(model_copy, weight, "NaN or infinite")


def test_a_transposed_kernel_is_refused_by_name(model_copy: Path) -> None:
    name = "MobilenetV1/Conv2d_13_pointwise/weights"

    def transpose(model: dict[str, Any]) -> None:
        for spec in _weights(model):
            if spec["name"] == "MobilenetV1/offset_2/weights":
                spec["shape"] = [1, 1, 34, 256]  # same bytes, wrong layout

    _edit(model_copy, transpose)
    _raises(model_copy, "MobilenetV1/offset_2/weights", "input channels")
    assert name  # the pointwise kernel next to it is untouched and not blamed


def _node(model: dict[str, Any], op: str) -> dict[str, Any]:
    return next(n for n in model["modelTopology"]["node"] if n["op"] == op)


MALFORMED: dict[str, Callable[[dict[str, Any]], None]] = {
    "node is text": lambda m: m["modelTopology"]["node"].__setitem__(3, "Conv2D"),
    "strides is a number": lambda m: _node(m, "Conv2D")["attr"].update(strides=5),
    "strides too short": lambda m: _node(m, "Conv2D")["attr"].update(strides={"list": {"i": ["1"]}}),
    "padding is not base64": lambda m: _node(m, "Conv2D")["attr"].update(padding={"s": "###"}),
    "inputs is a number": lambda m: _node(m, "Conv2D").update(input=7),
    "negative shape": lambda m: _weights(m)[0].update(shape=[-34]),
    "shape of text": lambda m: _weights(m)[0].update(shape=["a"]),
    "huge shape": lambda m: _weights(m)[0].update(shape=[2**40, 2**40]),
    "paths not a list": lambda m: m["weightsManifest"][0].update(paths="group1-shard1of1.bin"),
    "manifest not a list": lambda m: m.update(weightsManifest={"paths": []}),
    "quantisation scale of text": lambda m: _weights(m)[0].update(
        quantization={"dtype": "uint8", "scale": "big", "min": 0}),
    "no weights list": lambda m: m["weightsManifest"][0].pop("weights"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_json_content_names_the_file(model_copy: Path, case: str) -> None:
    _edit(model_copy, MALFORMED[case])
    _raises(model_copy)


def test_binary_and_deeply_nested_json(model_copy: Path) -> None:
    model_copy.write_bytes(b"\xff\xfe\x00garbage")
    _raises(model_copy, "UTF-8")
    model_copy.write_text("[" * 100_000 + "]" * 100_000)
    _raises(model_copy, "nested too deeply")


def test_the_cli_reports_a_bad_model_in_one_line(model_copy: Path, photos_dir: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _edit(model_copy, lambda m: m["weightsManifest"][0].update(paths=["/dev/zero"]))
    from posenet.cli import main

    code = main(["image", str(photos_dir / "tfpose__p1.jpg"), "--model-url", str(model_copy), "--multiplier", "0.5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "/dev/zero" in err[0] and "Traceback" not in err[0]


def test_library_load_refuses_it_too(model_copy: Path) -> None:
    _edit(model_copy, lambda m: m["weightsManifest"][0].update(paths=["../../x.bin"]))
    with pytest.raises(ModelFormatError, match="leaves the model folder"):
        posenet.load(multiplier=0.5, model_url=model_copy)
