#!/usr/bin/env bash
# Runs every test: formatting, lints, the Rust test suites, and the interop of Okta's official
# Python SDK against okta-sim. Needs python3 with venv and access to PyPI (first run only).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked

echo "== interop: Okta's Python SDK against okta-sim"
venv="target/interop-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r interop/python/requirements.txt
cargo build --locked -p okta-sim --bin okta-sim
"$venv/bin/python" interop/python/test_okta_sdk.py target/debug/okta-sim
"$venv/bin/python" interop/python/check_app_models.py target/debug/okta-sim
