#!/usr/bin/env bash
# Benchmark: CostGuard at account scale against Cloud Custodian, on the emulator (see Benchmarks/scale.py).
# Usage: Benchmarks/scale.sh [--soak-seconds 3600] [--machines 100 --emr-machines 20 --executions 10000 --billing 1000]
# Sets up the test venv (Deploy/dev-setup.sh), Cloud Custodian in its own venv (.venv-c7n, from PyPI), builds
# costguard in release mode, then runs one measurement and prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null 2>&1 || export PATH="/opt/swift/usr/bin:$PATH"
Deploy/dev-setup.sh >&2
C7N_VERSION=0.9.53
if [ ! -x .venv-c7n/bin/custodian ] || ! grep -qx "$C7N_VERSION" .venv-c7n/.installed 2>/dev/null; then
    echo "==> creating .venv-c7n with c7n==$C7N_VERSION" >&2
    rm -rf .venv-c7n
    python3 -m venv .venv-c7n
    .venv-c7n/bin/pip install --quiet --disable-pip-version-check "c7n==$C7N_VERSION"
    echo "$C7N_VERSION" > .venv-c7n/.installed
fi
swift build -c release --product costguard >&2
bin="$(swift build -c release --show-bin-path)"
exec .venv-test/bin/python Benchmarks/scale.py --costguard "$bin/costguard" --custodian .venv-c7n/bin/custodian \
    --python .venv-test/bin/python "$@"
