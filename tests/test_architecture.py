"""The shape of the code, kept by tests: the outer layers use only the public library,
imports flow one way, modules and functions stay small (docs/design.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "posenet"

PUBLIC_MODULES = frozenset({
    "posenet", "posenet.options", "posenet.families", "posenet.serialize", "posenet.images",
    "posenet.checkpoints", "posenet.video", "posenet.draw", "posenet.evaluate", "posenet.extras",
    "posenet.errors", "posenet.keypoints", "posenet.pose", "posenet.tracking", "posenet.smoothing",
    "posenet.geometry", "posenet.server", "posenet.batch", "posenet.runtime", "posenet.classify",
})
"""What the CLI and the server may import from the library."""

LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"keypoints", "errors", "options", "jsmath", "extras"}),
    frozenset({"pose", "images", "preprocess", "graph", "checkpoints", "tta"}),
    frozenset({"engines", "decode", "geometry", "refine", "runtime"}),
    frozenset({"model"}),
    frozenset({"families", "draw", "tracking", "smoothing", "serialize", "evaluate", "video", "batch", "classify",
               "movenet", "blazepose"}),
    frozenset({"cli", "server", "__main__", "__init__"}),
)
"""Import groups: a module may import from its own group's packages and earlier groups only."""

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "static" not in p.parts)


def _dotted(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """``(module, names)`` for every import of ``path``, relative imports made absolute."""
    tree = ast.parse(path.read_text())
    package = _dotted(path) if path.name == "__init__.py" else _dotted(path).rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((module, [alias.name for alias in node.names]))
    return found


def _top(module: str) -> str:
    """The top-level package module of ``posenet.X.Y`` (``X``)."""
    return module.split(".")[1] if module.count(".") >= 1 else "__init__"


@pytest.mark.parametrize("layer", ["cli", "server"])
def test_outer_layers_use_only_the_public_library(layer: str) -> None:
    offences = []
    for path in sorted((SRC / layer).rglob("*.py")):
        for module, names in _imports(path):
            if not module.startswith("posenet") or module.startswith(f"posenet.{layer}"):
                continue
            if module not in PUBLIC_MODULES:
                offences.append(f"{path.relative_to(SRC)} imports {module}")
            offences += [f"{path.relative_to(SRC)} imports the private {module}.{n}" for n in names
                         if n.startswith("_") and not n.startswith("__")]
    assert not offences, "\n".join(offences)


def test_imports_flow_one_way() -> None:
    rank = {name: i for i, group in enumerate(LAYERS) for name in group}
    offences = []
    for path in _modules():
        me = _top(_dotted(path))
        for module, names in _imports(path):
            if not module.startswith("posenet"):
                continue
            targets = [module] if module != "posenet" else [f"posenet.{n}" for n in names]
            for target in targets:
                other = _top(target)
                if other != me and other in rank and me in rank and rank[other] > rank[me]:
                    offences.append(f"{_dotted(path)} (group {rank[me]}) imports {target} (group {rank[other]})")
    assert not offences, "\n".join(offences)


def test_every_module_is_in_a_layer() -> None:
    known = set().union(*LAYERS)
    assert {_top(_dotted(p)) for p in _modules()} <= known


def test_modules_and_functions_stay_small() -> None:
    big_modules = [f"{p.relative_to(SRC)}: {n} lines" for p in _modules()
                   if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES]
    long_functions = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name}: {length} lines")
    assert not big_modules and not long_functions, "\n".join(big_modules + long_functions)
