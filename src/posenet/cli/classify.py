"""``posenet classify``: the top classes of photos with a TF.js graph-model classifier
(:mod:`posenet.classify`), as JSON."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from posenet.classify import Classifier, load_classifier
from posenet.images import decode_image

from ._args import Parents
from ._files import STDOUT, JsonObjectWriter, Targets
from ._output import CliError, Console, naming, one_line
from .image import collect_images

EPILOG = """\
examples:
  posenet classify photo.jpg --model models/classifier/mobilenet_v2
  posenet classify photos/ more.png --model classifier/ --top-k 2 --json classes.json
  posenet classify photo.jpg --model classifier/model.json --json -

The model folder holds model.json (+ weight shards) and labels.txt, one label a line.
Images are preprocessed as the JavaScript pipeline does: pixels / 255, then resizeBilinear
to the model's input size with alignCorners=true.
JSON: {"<file>": {"predictions": [{"label", "probability"}, ...]}}, most likely first;
a file that failed: {"<file>": {"error": "..."}}. Existing files are replaced only with
--overwrite.
"""


def add_parser(subparsers: Any, parents: Parents) -> None:
    """Register the verb."""
    p = subparsers.add_parser("classify", parents=[parents.common],
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              help="classes of photos (graph-model classifier)",
                              description="Classify photos with a TF.js graph-model classifier.", epilog=EPILOG)
    p.add_argument("paths", nargs="+", metavar="IMAGE", help="image files or folders (not recursive)")
    p.add_argument("--model", required=True, metavar="DIR",
                   help="classifier folder (model.json + labels.txt) or its model JSON")
    p.add_argument("--top-k", type=int, default=5, metavar="N", help="classes per image (default 5)")
    p.add_argument("--json", default=STDOUT, metavar="FILE|-", help="write JSON here (default -: stdout)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    p.set_defaults(run=run)


def _classify(classifier: Classifier, path: Path, top_k: int) -> dict[str, Any]:
    predictions = classifier.classify(decode_image(path), top_k)
    return {"predictions": [p.to_dict() for p in predictions]}


def run(args: argparse.Namespace, console: Console) -> int:
    """Exit code 1 if any image failed (the others are still done)."""
    if args.top_k < 1:
        raise CliError(f"--top-k must be at least 1, got {args.top_k}")
    found = collect_images(args.paths, console)
    if not found.images and not found.problems:
        raise CliError("no images to process")
    Targets([*found.images, Path(args.model)], args.overwrite).add(args.json, "--json")
    start = time.perf_counter()
    classifier = load_classifier(args.model)
    console.debug(f"loaded {classifier!r} in {time.perf_counter() - start:.2f} s")
    sink = JsonObjectWriter(args.json)
    failed = 0
    try:
        for path, problem in found.problems.items():
            console.error(problem)
            sink.add(str(path), {"error": problem})
            failed += 1
        for path in found.images:
            try:
                record = _classify(classifier, path, args.top_k)
            except Exception as exc:  # noqa: BLE001 - one bad image does not stop the others
                console.error(naming(path, one_line(exc)))
                sink.add(str(path), {"error": naming(path, one_line(exc))})
                failed += 1
                continue
            sink.add(str(path), record)
    finally:
        sink.close()
    total = len(found.images) + len(found.problems)
    console.info(f"{total - failed} of {total} images classified, {failed} failed "
                 f"({time.perf_counter() - start:.1f} s)")
    return 1 if failed else 0
