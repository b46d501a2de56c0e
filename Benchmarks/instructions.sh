#!/usr/bin/env bash
# Benchmark: instructions per steady `costguard serve` pass, counted by callgrind (see Benchmarks/instructions.py).
# Usage: Benchmarks/instructions.sh --valgrind PATH [--costguard BIN ...] [--seconds 60] [fleet options]
# valgrind must be 3.22 or later: Debian 12's 3.19 cannot read Swift 6's DWARF 5 (Benchmarks/README.md says how to
# build one). Without --costguard, builds and measures this checkout's release build.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null 2>&1 || export PATH="/opt/swift/usr/bin:$PATH"
Deploy/dev-setup.sh >&2
args=("$@")
if [[ " $* " != *" --costguard "* ]]; then
    swift build -c release --product costguard >&2
    args+=(--costguard "$(swift build -c release --show-bin-path)/costguard")
fi
exec .venv-test/bin/python Benchmarks/instructions.py --python .venv-test/bin/python "${args[@]}"
