#!/usr/bin/env bash
# One command that sets up a fresh machine and runs the whole test suite:
#   - a virtual environment in .venv with posenet-py and every extra + test tools,
#   - Debian's chromium for the browser test (tools/ci/install_browser.sh; without root the
#     browser test is skipped with a note, except in CI, where it is required),
#   - the TensorFlow.js reference under Node.js (npm ci in tools/reference, done by the tests),
#   - ruff and mypy --strict over src/ (configured in pyproject.toml; any finding fails),
#   - pytest over tests/, with the shared data from POSENET_SHARED_DIR (default ../shared).
# Extra arguments go to pytest, e.g. `bash tools/test.sh -k parity -x`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[all,ray,test]"
browser=0
bash tools/ci/install_browser.sh || browser=$?
if [ "$browser" -eq 3 ] && [ "${CI:-}" != "true" ]; then
    echo "note: no root to install chromium: the browser test of the server page is skipped" >&2
    export POSENET_REQUIRE_BROWSER=${POSENET_REQUIRE_BROWSER:-0}
elif [ "$browser" -ne 0 ]; then
    exit "$browser"
fi

echo "lint: ruff check src; types: mypy --strict src/posenet" >&2
.venv/bin/ruff check --quiet src
.venv/bin/python -m mypy --no-error-summary

export POSENET_SHARED_DIR=${POSENET_SHARED_DIR:-$(cd .. && pwd)/shared}
export POSENET_REQUIRE_BROWSER=${POSENET_REQUIRE_BROWSER:-1}
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests" >&2
    exit 1
fi
exit "$status"
