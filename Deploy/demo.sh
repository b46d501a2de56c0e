#!/usr/bin/env bash
# The README's first command. Sets up the machine (Deploy/dev-setup.sh), builds CostGuard, and runs it.
# (The full emulator demo — leaked clusters, a dry run, the real pass, the report — replaces this once the
# reconcile pass exists.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash Deploy/dev-setup.sh
command -v swift >/dev/null 2>&1 || export PATH="/opt/swift/usr/bin:$PATH"
echo "==> building costguard" >&2
swift build --product costguard
bin="$(swift build --show-bin-path)/costguard"
echo "==> costguard --help" >&2
"$bin" --help
echo "==> costguard version" >&2
"$bin" version
