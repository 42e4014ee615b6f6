#!/usr/bin/env bash
# Builds the LeRobot 0.6.1 reference venv on Python 3.11 with the CPU torch 2.13.0 (see README.md here).
# Usage: tools/lerobot/setup.sh [venv dir, default .venv-lerobot]. Idempotent; offline apart from PyPI.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${1:-.venv-lerobot}
python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || {
  echo "tools/lerobot/setup.sh: needs Python 3.11 (the CPU torch 2.13.0 build is for 3.11); $python is $("$python" --version 2>&1)" >&2
  exit 2
}
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/pip" install -q --disable-pip-version-check)
"${pip[@]}" -r "$here/../requirements-lerobot.txt"
# Both ask for versions this platform does not have (Python >= 3.12, torch < 2.12); what they need is pinned above.
"${pip[@]}" --no-deps --ignore-requires-python lerobot==0.6.1 torchvision==0.28.0
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
"$venv/bin/python" "$here/patch_py311.py" "$site"
"$venv/bin/python" - <<'PY'
import torchvision  # noqa: F401  (the guarded registrations)
from lerobot.policies.pi0_fast.modeling_pi0_fast import PI0FastPolicy  # noqa: F401
from lerobot.motors.feetech import FeetechMotorsBus  # noqa: F401
import lerobot
print(f"lerobot {lerobot.__version__ if hasattr(lerobot, '__version__') else '0.6.1'} imports")
PY
