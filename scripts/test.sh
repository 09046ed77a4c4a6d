#!/usr/bin/env bash
# The test command (README): installs Python Jetbase 0.18.1 into .venv-py when missing (the
# cross-tool tests and golden checksums need it), then runs every test of the crate.
# Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-py/bin/jetbase ]; then
  echo "== installing Python Jetbase 0.18.1 into .venv-py"
  python3 -m venv .venv-py
  .venv-py/bin/pip install --quiet --disable-pip-version-check jetbase==0.18.1 psycopg2-binary pymysql
fi
cargo test --locked "$@"
