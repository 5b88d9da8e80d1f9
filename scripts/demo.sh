#!/usr/bin/env bash
# The main job: build a synthetic YRD pilot on the embedded SQLite store.
# Extra arguments go to `socialcredit demo` (e.g. --persons 20000 --no-serve).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/socialcredit demo "$@"
