#!/usr/bin/env bash
# Sets up a fresh Debian machine (Deploy/dev-setup.sh), builds CostGuard and its tests, and runs every test.
# The last line is Swift Testing's summary; the exit status is non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Deploy/dev-setup.sh
command -v swift >/dev/null 2>&1 || export PATH="/opt/swift/usr/bin:$PATH"

echo "==> building (swift build --build-tests)" >&2
swift build --build-tests
echo "==> running the tests" >&2
# Swift Testing only (the project has no XCTest cases); its own parallelism covers the 2 cores.
exec swift test --skip-build --disable-xctest
