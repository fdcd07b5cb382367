#!/usr/bin/env bash
# Install the browser the end-to-end test of the server page drives: Debian's chromium.
# Idempotent: does nothing when /usr/bin/chromium already runs. Python Playwright comes
# from the `test` extra (playwright==1.65.2); never run `playwright install` (no downloads
# outside the package registries here): the test passes executable_path=/usr/bin/chromium.
# Installs the least the test needs (no recommended packages), quietly (apt's output goes
# to a log shown only on failure). Exit codes: 0 installed, 3 cannot install (no root and
# no sudo), 1 the install failed.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ] && "$CHROMIUM" --version >/dev/null 2>&1; then
    echo "install_browser: $("$CHROMIUM" --version 2>/dev/null | head -n1) already installed"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install_browser: need root (or sudo) to apt-get install chromium; the browser test will be skipped" >&2
        exit 3
    fi
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for attempt in 1 2 3; do
    if $SUDO apt-get update -qq >"$log" 2>&1 &&
        $SUDO apt-get install -y -qq --no-install-recommends chromium >>"$log" 2>&1; then
        break
    fi
    if [ "$attempt" -eq 3 ]; then
        cat "$log" >&2
        echo "install_browser: apt-get install chromium failed" >&2
        exit 1
    fi
    sleep 5
done

"$CHROMIUM" --version
