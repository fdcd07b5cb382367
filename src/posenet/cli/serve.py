"""``posenet serve``: the local HTTP service and browser page (:mod:`posenet.server`)."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from typing import Any

from posenet.extras import require
from posenet.families import FAMILIES, PoseModel, create_detector
from posenet.options import DEFAULT_PRESET
from posenet.server import (
    DEFAULT_MAX_MODELS,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_QUEUE,
    DEFAULT_MAX_STREAMS,
    DEFAULT_MAX_UPLOAD_BYTES,
    default_workers,
    engine_threads,
    host_name,
)

from ._args import Parents, bounded, load_model, positive_int
from ._output import Console

EPILOG = f"""\
examples:
  posenet serve                               http://127.0.0.1:8000/
  posenet serve --port 9000 --multiplier 0.5
  posenet serve --host 0.0.0.0 --allow-host 192.168.1.5   (no authentication: trusted networks only)
  posenet serve --model movenet-lightning --models movenet-lightning,blazepose-full,posenet

The page and requests choose among the models offered (POST /v1/poses?model=NAME, the
stream's "model" option; GET /v1/models lists them): --model is the default one, loaded
at start with the model options given; the others of --models (default: every registered
family whose model files are on this machine) are loaded with their defaults on first
use and kept, at most --max-models at once. Each stream gets a detector of its own.

Requests use the pose options of the {DEFAULT_PRESET} preset unless they name another
(e.g. POST /v1/poses?preset=reference&mode=multi); the page lets you choose.
Only the loopback names and --host are accepted as Host, and only the service's own
pages may open streams or upload from a browser (--allow-host, --allow-origin add more).
Several workers run the model side by side; unless --threads is given, each model call
then uses one engine thread, so that workers x threads does not oversubscribe the cores.
Needs the server extra: pip install 'posenet-py[server]'
"""

port_number = bounded(int, 0, 65535)


def host_arg(text: str) -> str:
    """An argparse type: a host name as ``Host`` headers carry it (``::1`` may be bare)."""
    try:
        host_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_parser(subparsers: Any, parents: Parents) -> None:
    """Register the verb."""
    p = subparsers.add_parser("serve", parents=[parents.common, parents.model],
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              help="local HTTP service and web page",
                              description="Serve pose estimation over HTTP with a browser page.", epilog=EPILOG)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=port_number, default=8000, metavar="N",
                   help="port, 0-65535 (default 8000; 0: a free one)")
    p.add_argument("--max-upload-bytes", type=positive_int, metavar="N",
                   help=f"largest accepted upload or stream frame, in bytes (default {DEFAULT_MAX_UPLOAD_BYTES})")
    p.add_argument("--max-pixels", type=positive_int, metavar="N",
                   help=f"largest accepted image, width x height (default {DEFAULT_MAX_PIXELS})")
    p.add_argument("--max-queue", type=positive_int, metavar="N",
                   help=f"HTTP requests in progress before new ones get 503 (default {DEFAULT_MAX_QUEUE})")
    p.add_argument("--max-streams", type=positive_int, metavar="N",
                   help=f"WebSocket streams open at once (default {DEFAULT_MAX_STREAMS})")
    p.add_argument("--workers", type=positive_int, metavar="N",
                   help=f"threads decoding and estimating (default: one per core, here {default_workers()})")
    p.add_argument("--allow-host", action="append", default=[], type=host_arg, metavar="NAME",
                   help="also accept this Host name (repeatable; '*': any)")
    p.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                   help="also accept this Origin, e.g. http://localhost:3000 (repeatable; '*': any)")
    p.add_argument("--models", type=model_list, metavar="A,B,...",
                   help="model families offered besides --model, comma-separated (default: every registered "
                        f"family whose files are on this machine; 'none': only --model); of {', '.join(FAMILIES)}")
    p.add_argument("--max-models", type=positive_int, metavar="N",
                   help=f"model families kept loaded at once (default {DEFAULT_MAX_MODELS})")
    p.set_defaults(run=run)


def model_list(text: str) -> tuple[str, ...]:
    """An argparse type: comma-separated family names (``none``: no others)."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if names == ("none",):
        return ()
    unknown = [n for n in names if n not in FAMILIES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown model {', '.join(unknown) or repr(text)}: "
                                         f"choose from {', '.join(FAMILIES)} (comma-separated) or none")
    return names


def files_found(name: str) -> bool:
    """Whether a family's model files are on this machine (nothing downloaded); PoseNet, which
    fetches its checkpoint on first use, counts as found."""
    return FAMILIES[name].files_on_disk()


def _loader(name: str, config: Any) -> Callable[[], PoseModel]:
    return lambda: create_detector(name, config)


def offered_models(args: argparse.Namespace) -> dict[str, Callable[[], PoseModel]]:
    """The loaders of the models offered: ``--model`` with its options first, then
    ``--models`` (or the families found) with their defaults (and ``--threads``' choice)."""
    others = args.models if args.models is not None else tuple(n for n in FAMILIES if files_found(n))
    loaders = {args.model: _loader(args.model, args.model_config)}
    threads = getattr(args.model_config, "num_threads", None)
    for name in others:
        if name in loaders:
            continue
        config = FAMILIES[name].config_type()
        if threads is not None and "num_threads" in {f.name for f in dataclasses.fields(config)}:
            config = dataclasses.replace(config, num_threads=threads)
        loaders[name] = _loader(name, config)
    return loaders


def _server_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keywords of ``posenet.server.serve``; the newer ones only when given."""
    options: dict[str, Any] = {"host": args.host, "port": args.port, "max_upload_bytes": args.max_upload_bytes,
                               "max_pixels": args.max_pixels, "max_queue": args.max_queue}
    given = {"max_streams": args.max_streams, "workers": args.workers, "allowed_hosts": args.allow_host,
             "allowed_origins": args.allow_origin, "max_models": args.max_models}
    options.update({k: v for k, v in given.items() if v})
    return options


def run(args: argparse.Namespace, console: Console) -> int:
    """Blocks until interrupted (Ctrl+C: exit code 0)."""
    require("server", "posenet serve")
    from posenet import server

    threads = engine_threads(args.workers or default_workers())
    if args.num_threads is None and threads is not None:
        args.model_config = dataclasses.replace(args.model_config, num_threads=threads)
        console.debug(f"{args.workers or default_workers()} workers: {threads} engine thread per model call")
    model = load_model(args, console)
    models = offered_models(args)
    console.debug(f"models offered: {', '.join(models)} (default {args.model})")
    try:
        server.serve(model, models=models, default_model=args.model, **_server_options(args))
    except KeyboardInterrupt:  # Ctrl+C is how a server is stopped: not an error
        console.info("posenet: stopped")
    return 0
