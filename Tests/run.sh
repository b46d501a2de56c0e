#!/usr/bin/env bash
# Sets up a fresh Debian machine (Deploy/dev-setup.sh), builds CostGuard and its tests, and runs every test.
# Then fuzzes the parsers for a bounded time. The exit status is non-zero when any test fails or the fuzzer finds
# something.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Deploy/dev-setup.sh
command -v swift >/dev/null 2>&1 || export PATH="/opt/swift/usr/bin:$PATH"

# The sources follow .swift-format (swift-nio's configuration); swift-format ships with the toolchain.
echo "==> lint (swift format lint --strict)" >&2
swift format lint --strict --recursive --parallel Sources Tests Package.swift
echo "==> building (swift build --build-tests)" >&2
swift build --build-tests
echo "==> running the tests" >&2
# Swift Testing only (the project has no XCTest cases); its own parallelism covers the 2 cores.
status=0
# Kept for Tests/safety_figures.py, which regenerates SAFETY.md's figures from it.
log=.build/test-output.log
swift test --skip-build --disable-xctest 2>&1 | tee "$log" || status=$?
# Under CI=true nothing skips silently: a test that cannot run on the CI machine fails the run.
if [ "${CI:-}" = true ] && grep -E 'Test .* skipped' "$log" >&2; then
    echo "CI=true: the tests above were skipped; CI must run every test" >&2
    status=1
fi
# The parsers of untrusted input under libFuzzer + AddressSanitizer, a bounded time each (COSTGUARD_FUZZ_SECONDS,
# default 45; longer runs: Tests/Fuzz/run.sh 3600), after replaying every input that once crashed.
echo "==> fuzzing (Tests/Fuzz/run.sh)" >&2
bash Tests/Fuzz/run.sh "${COSTGUARD_FUZZ_SECONDS:-45}" || status=$?
exit $status
