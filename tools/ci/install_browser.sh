#!/usr/bin/env bash
# Install the browser the end-to-end test of the server page drives: Debian's chromium.
# Idempotent: does nothing when /usr/bin/chromium already runs. Python Playwright comes
# from the `test` extra (playwright==1.65.2); never run `playwright install` (no downloads
# outside the package registries here): the test passes executable_path=/usr/bin/chromium.
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
        echo "install_browser: need root (or sudo) to apt-get install chromium" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
for attempt in 1 2 3; do
    if $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium; then
        break
    fi
    if [ "$attempt" -eq 3 ]; then
        echo "install_browser: apt-get install chromium failed" >&2
        exit 1
    fi
    sleep 5
done

"$CHROMIUM" --version
