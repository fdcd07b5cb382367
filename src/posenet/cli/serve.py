"""``posenet serve``: the local HTTP service and browser page (:mod:`posenet.server`)."""

from __future__ import annotations

import argparse
from typing import Any

from posenet.extras import require
from posenet.options import DEFAULT_PRESET

from ._args import Parents, load_model, positive_int
from ._output import Console

EPILOG = f"""\
examples:
  posenet serve                               http://127.0.0.1:8000/
  posenet serve --port 9000 --multiplier 0.5
  posenet serve --host 0.0.0.0 --max-upload-bytes 5000000   (no authentication: trusted networks only)

Requests use the pose options of the {DEFAULT_PRESET} preset unless they name another
(e.g. POST /v1/poses?preset=reference&mode=multi); the page lets you choose.
Needs the server extra: pip install 'posenet-py[server]'
"""


def add_parser(subparsers: Any, parents: Parents) -> None:
    """Register the verb."""
    p = subparsers.add_parser("serve", parents=[parents.common, parents.model],
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              help="local HTTP service and web page",
                              description="Serve pose estimation over HTTP with a browser page.", epilog=EPILOG)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--max-upload-bytes", type=positive_int, metavar="N",
                   help="largest accepted upload (default: the server's)")
    p.add_argument("--max-pixels", type=positive_int, metavar="N",
                   help="largest accepted image, width x height (default: the server's)")
    p.add_argument("--max-queue", type=positive_int, metavar="N",
                   help="requests waiting for the model before new ones get 503 (default: the server's)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, console: Console) -> int:
    """Blocks until interrupted."""
    require("server", "posenet serve")
    from posenet import server

    model = load_model(args, console)
    server.serve(model, host=args.host, port=args.port, max_upload_bytes=args.max_upload_bytes,
                 max_pixels=args.max_pixels, max_queue=args.max_queue)
    return 0
