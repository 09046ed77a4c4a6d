#!/usr/bin/env bash
# Creates .venv-sa14: a Python with SQLAlchemy 1.4, the oldest line the model loader
# (src/schema/loader.py) supports, so its tests can run against it too:
#   scripts/venv-sa14.sh && JETBASE_TEST_PYTHON_SA14=.venv-sa14/bin/python cargo test --test model_loader
# The interpreter is python3 unless PYTHON names another one.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-sa14/bin/python ]; then
  "${PYTHON:-python3}" -m venv .venv-sa14
fi
.venv-sa14/bin/pip install --quiet --disable-pip-version-check 'SQLAlchemy>=1.4,<1.5'
.venv-sa14/bin/python -c 'import sqlalchemy; print("SQLAlchemy", sqlalchemy.__version__, "in .venv-sa14")'
