#!/usr/bin/env bash
# Print the path of a uv executable, installing uv from PyPI first when none is found.
# Works on a machine with nothing but Python 3.11+ (falls back to a private venv when the system
# pip refuses to install: PEP 668 "externally managed" environments).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if command -v uv >/dev/null 2>&1; then
  command -v uv
  exit 0
fi
tools="$root/.tools"
if [ ! -x "$tools/bin/uv" ]; then
  python3 -m venv "$tools" >&2
  "$tools/bin/python" -m pip install --quiet --disable-pip-version-check uv >&2
fi
echo "$tools/bin/uv"
