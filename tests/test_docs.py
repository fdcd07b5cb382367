"""The commands in README.md and docs/ run as written, after the quick start.

A fenced ``bash`` block right after a ``<!-- runnable -->`` line is run here, line by line
as one script, from the repository root with the virtual environment's ``bin`` first on
``PATH`` and ``POSENET_MODEL_DIR`` at the shared checkpoints: what a user has after the
quick start and the two ``export`` lines the README gives.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCK = re.compile(r"<!-- runnable(?: timeout=(\d+))? -->\s*\n```bash\n(.*?)\n```", re.S)
QUICK_START = re.compile(r"<!-- quick-start -->\s*\n```bash\n(.*?)\n```", re.S)


def _blocks() -> list[tuple[str, int, str]]:
    found = []
    for doc in DOCS:
        text = doc.read_text()
        for m in BLOCK.finditer(text):
            line = text[: m.start()].count("\n") + 1
            found.append((f"{doc.name}:{line}", int(m.group(1) or 120), m.group(2)))
    return found


def _env(models_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["POSENET_MODEL_DIR"] = str(models_dir)
    env.pop("POSENET_REQUIRE_BROWSER", None)
    return env


def test_there_are_runnable_commands() -> None:
    names = {where.split(":")[0] for where, _, _ in _blocks()}
    assert {"README.md", "cli.md", "server.md"} <= names


def test_the_quick_start_is_one_command_that_can_be_repeated() -> None:
    (command,) = QUICK_START.findall((REPO / "README.md").read_text())
    assert "\n" not in command.strip()
    assert "--overwrite" in command  # pasting it twice must not fail on its own outputs


@pytest.mark.slow
@pytest.mark.parametrize("where, timeout, script", _blocks(), ids=[b[0] for b in _blocks()])
def test_documented_commands_run(where: str, timeout: int, script: str, models_dir: Path) -> None:
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=REPO, env=_env(models_dir),
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{where} failed ({result.returncode}):\n{script}\n{result.stderr[-3000:]}"
