"""``posenet export``: any supported TF.js graph model as an ONNX file (:mod:`posenet.runtime`)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from posenet.runtime import TensorInfo, load_graph_model

from ._args import Parents
from ._files import Targets, replacing
from ._output import Console

EPILOG = """\
examples:
  posenet export models/movenet/movenet-lightning.json --out movenet-lightning.onnx
  posenet export models/posenet/mobilenet/float/075/model-stride16.json --out posenet.onnx
  posenet export classifier/ --out classifier.onnx --overwrite
  posenet export https://example.org/model/model.json --out model.onnx

MODEL is a model JSON (its weight shards beside it), a folder holding model.json, or an
http(s) URL (downloaded once into the cache). The ONNX file keeps the model's input and
output names (signature keys, or node names without a signature), dtypes and open
dimensions; ONNX opset 18. A model using an op the runtime lacks fails with one message
listing every such op.
"""


def add_parser(subparsers: Any, parents: Parents) -> None:
    """Register the verb."""
    p = subparsers.add_parser("export", parents=[parents.common], formatter_class=argparse.RawDescriptionHelpFormatter,
                              help="a TF.js graph model as ONNX",
                              description="Convert a TF.js graph model to an ONNX file.", epilog=EPILOG)
    p.add_argument("model", metavar="MODEL", help="model JSON, folder with model.json, or URL")
    p.add_argument("--out", required=True, metavar="FILE", help="the .onnx file to write")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.set_defaults(run=run)


def _describe(info: TensorInfo) -> str:
    shape = "?" if info.shape is None else "[" + ", ".join("-1" if d is None else str(d) for d in info.shape) + "]"
    return f"{info.name} {info.dtype or '?'} {shape}"


def run(args: argparse.Namespace, console: Console) -> int:
    """Load, lower, write (through a temporary file renamed into place)."""
    out = Path(args.out)
    local = None if args.model.startswith(("http://", "https://")) else Path(args.model)
    Targets([local] if local is not None else [], args.overwrite).add(out, "--out")
    start = time.perf_counter()
    model = load_graph_model(args.model, num_threads=1)
    out.parent.mkdir(parents=True, exist_ok=True)
    with replacing(out) as temp:
        model.export_onnx(temp)
    console.info(f"{out}: {out.stat().st_size / 1e6:.1f} MB, {sum(model.ops.values())} ops "
                 f"({time.perf_counter() - start:.1f} s)")
    for info in model.inputs:
        console.info(f"  input  {_describe(info)}")
    for info in model.outputs:
        console.info(f"  output {_describe(info)}")
    return 0
