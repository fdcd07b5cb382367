"""The models a service offers (:class:`ModelHub`): loaded on first use, kept, bounded.

Each offered model is a name (a family of :data:`posenet.families.FAMILIES`, e.g.
``posenet`` or ``movenet-lightning``) and a loader. Two kinds of instance are made:

- one *shared* instance per model answers HTTP requests. They are unrelated stills, so it
  runs ``estimate_batch([image])`` (which resets a model that follows a stream, atomically)
  and is used by several worker threads at once; at most ``max_models`` models are kept
  loaded (least recently used dropped first; the default model always stays);
- every open stream gets a *detector of its own* (:meth:`ModelHub.lease`): a model that
  follows a stream (MoveNet's crop, filters and tracker) keeps one client's state, and
  another client's frames never move it. A stream's detector goes back to the hub when the
  stream ends (reset, for the next stream); at most ``max_streams`` are in use, as many
  are kept idle.

A model given as an instance that the hub cannot load again (no loader, and its
``config`` is not its family's configuration type) is shared by its streams too.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable, Mapping
from typing import Any

from ..families import FAMILIES, PoseModel, create_detector
from ..serialize import jsonable
from .errors import ApiError, short

log = logging.getLogger("posenet.server")

Loader = Callable[[], PoseModel]
"""Loads one new instance of a model (blocking; run in a thread)."""


def model_name(model: PoseModel) -> str:
    """The family name of a loaded model: the family whose configuration type its ``config``
    is (``movenet-thunder``), else its ``family`` attribute."""
    config = getattr(model, "config", None)
    for name, family in FAMILIES.items():
        if config is not None and type(config) is family.config_type:
            return name
    return str(model.family)


def reloader(model: PoseModel) -> Loader | None:
    """A loader of more instances like ``model`` (its family, its ``config``), if there is one."""
    config = getattr(model, "config", None)
    name = model_name(model)
    family = FAMILIES.get(name)
    if config is None or family is None or type(config) is not family.config_type:
        return None
    return lambda: create_detector(name, config)


class ModelHub:
    """The offered models by name; ``default`` answers requests that name none.

    ``loaders[name]`` loads a model (``None``: only ``preloaded[name]`` exists, shared by
    everything). All methods run on the event loop; loading runs in a thread.
    """

    def __init__(self, loaders: Mapping[str, Loader | None], default: str, *, max_models: int, max_idle: int,
                 preloaded: Mapping[str, PoseModel] | None = None) -> None:
        if default not in loaders:
            raise ValueError(f"default model {default!r} is not among the models offered ({', '.join(loaders)})")
        if max_models < 1:
            raise ValueError(f"max_models must be positive, got {max_models}")
        unloadable = [n for n, load in loaders.items() if load is None and n not in (preloaded or {})]
        if unloadable:
            raise ValueError(f"no loader and no loaded instance for {', '.join(unloadable)}")
        self.loaders = dict(loaders)
        self.default = default
        self.max_models = max_models
        self.max_idle = max_idle
        self._shared: collections.OrderedDict[str, PoseModel] = collections.OrderedDict(preloaded or {})
        self._infos: dict[str, dict[str, Any]] = {n: jsonable(m.info().to_dict()) for n, m in self._shared.items()}
        self._idle: collections.OrderedDict[int, tuple[str, PoseModel]] = collections.OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        self.loads = 0
        self.leased = 0

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.loaders)

    def check(self, name: str | None) -> str:
        """``name`` if offered (``None``: the default); a 400 naming the choices otherwise."""
        if name is None:
            return self.default
        if name not in self.loaders:
            raise ApiError(400, f"unknown model {name[:64]!r}: this service offers {', '.join(self.loaders)} "
                           "(GET /v1/models)")
        return name

    async def _load(self, name: str) -> PoseModel:
        loader = self.loaders[name]
        assert loader is not None
        try:
            model = await asyncio.to_thread(loader)
        except Exception as exc:  # noqa: BLE001 - a model that cannot load is the service's problem, told
            log.warning("cannot load model %s: %s", name, exc)
            raise ApiError(503, f"model {name} cannot be loaded on this machine: {short(exc)}") from None
        self.loads += 1
        return model

    async def shared(self, name: str) -> PoseModel:
        """The shared instance of ``name`` (loaded on first use; one load at a time per model)."""
        model = self._shared.get(name)
        if model is None:
            async with self._locks.setdefault(name, asyncio.Lock()):
                model = self._shared.get(name)
                if model is None:
                    model = await self._load(name)
                    self._infos[name] = jsonable(model.info().to_dict())
                    self._shared[name] = model
                    self._evict()
        self._shared.move_to_end(name)
        return model

    def _evict(self) -> None:
        """Drop the least recently used shared models beyond ``max_models`` (never the default
        nor one that cannot be loaded again), with their idle stream detectors."""
        while len(self._shared) > self.max_models:
            victim = next((n for n in self._shared if n != self.default and self.loaders[n] is not None), None)
            if victim is None:
                return
            del self._shared[victim]
            self._idle = collections.OrderedDict((k, v) for k, v in self._idle.items() if v[0] != victim)

    async def info(self, name: str) -> dict[str, Any]:
        """``model.info()`` of ``name`` as JSON (loads it if needed)."""
        await self.shared(name)
        return self._infos[name]

    def known_info(self, name: str) -> dict[str, Any] | None:
        """The info of ``name`` if it was ever loaded (nothing is loaded)."""
        return self._infos.get(name)

    async def lease(self, name: str) -> PoseModel:
        """A detector for one stream: an idle one of ``name`` or a new one; the shared instance
        for a stateless model (PoseNet) or one that cannot be loaded again. Give it back with
        :meth:`give_back`."""
        shared = await self.shared(name)
        if self.loaders[name] is None or not getattr(shared, "stateful", True):
            return shared  # cannot load another, or needs none: stateless models serve every stream
        for key, (idle_name, model) in self._idle.items():
            if idle_name == name:
                del self._idle[key]
                self.leased += 1
                return model
        model = await self._load(name)
        self.leased += 1
        return model

    def give_back(self, name: str, model: PoseModel) -> None:
        """A stream is done with ``model``: reset it and keep it for the next stream (at most
        ``max_idle`` kept; none for a model no longer loaded)."""
        if self.loaders.get(name) is None or model is self._shared.get(name):
            return
        self.leased -= 1
        if name not in self._shared:
            return
        try:
            model.reset()
        except Exception:  # noqa: BLE001 - a detector that cannot reset is dropped
            log.debug("reset failed; detector dropped", exc_info=True)
            return
        self._idle[id(model)] = (name, model)
        while len(self._idle) > self.max_idle:
            self._idle.popitem(last=False)

    def listing(self) -> list[dict[str, Any]]:
        """``GET /v1/models``'s ``models``: each offered model, whether loaded, its info if known."""
        return [{"name": n, "description": FAMILIES[n].description if n in FAMILIES else "",
                 "default": n == self.default, "loaded": n in self._shared, "info": self._infos.get(n)}
                for n in self.loaders]

    def load(self) -> dict[str, Any]:
        """Figures for ``GET /healthz``."""
        return {"models_loaded": [n for n in self.loaders if n in self._shared], "stream_detectors": self.leased,
                "idle_detectors": len(self._idle)}


class Lease:
    """A stream's detector, given back to the hub once the stream is closed and no worker
    thread still runs it (every call happens on the event loop)."""

    def __init__(self, hub: ModelHub, name: str, model: PoseModel) -> None:
        self.hub, self.name, self.model = hub, name, model
        self.busy = 0
        self.closed = False

    def hold(self) -> None:
        self.busy += 1

    def drop(self) -> None:
        self.busy -= 1
        self._maybe_give_back()

    def close(self) -> None:
        self.closed = True
        self._maybe_give_back()

    def _maybe_give_back(self) -> None:
        if self.closed and self.busy == 0:
            self.closed = False  # once
            self.busy = -1
            self.hub.give_back(self.name, self.model)
