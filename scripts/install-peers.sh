#!/usr/bin/env bash
# Install gradscale with its peers extra (PyTorch, JAX, HIPS autograd) into the Python given
# by $PYTHON (default: python3), for `gradscale peers`.
#
# torch is pinned and installed first: torch==2.13.0 resolves to a CPU-only wheel, while an
# unpinned torch can pull a GPU build of several gigabytes that the comparison never uses.
# The extra itself states lower bounds only.
set -euo pipefail

PYTHON="${PYTHON:-python3}"
PROJECT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

"$PYTHON" -m pip install "torch==2.13.0"
"$PYTHON" -m pip install -e "${PROJECT}[peers]"
"$PYTHON" - <<'PY'
from gradients.providers.peers import register_peers

absent = {name: reason for name, reason in register_peers().items() if reason}
print("peers absent:", absent or "none")
raise SystemExit(1 if absent else 0)
PY
