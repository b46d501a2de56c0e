#!/usr/bin/env bash
# Installs what building, testing and the demo need on a fresh Debian (12+) machine, and nothing else:
#   - Debian packages: libsqlite3-dev (the ledger links the system SQLite), sqlite3, python3-venv, prometheus (for
#     promtool, which tests the alerting rules), and (normally present already) systemd and util-linux;
#   - a Python virtual environment in .venv-test with the pinned AWS emulator (moto) and botocore.
# Idempotent: a second run installs nothing. Needs root (or sudo) only when a Debian package is missing.
# Swift itself (6.2 or newer) must already be installed: this script finds it or says how to get it.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

# --- Swift toolchain -----------------------------------------------------------------------------------------
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi
if ! command -v swift >/dev/null 2>&1; then
    echo "error: no Swift toolchain on PATH. Install Swift 6.2 or newer (https://www.swift.org/install/linux/) and" \
         "put its usr/bin on PATH, then run this again." >&2
    exit 1
fi

# --- Debian packages -----------------------------------------------------------------------------------------
missing=()
# systemd (for systemd-analyze, which the unit tests run) and util-linux (unshare) are on every Debian system;
# they are listed so that a minimal container gets them too.
# prometheus brings promtool, which checks and unit-tests Deploy/prometheus/costguard-rules.yml.
for package in libsqlite3-dev sqlite3 python3-venv systemd util-linux prometheus; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# python3-venv is only needed when the Python in use lacks a working venv module.
if [ "${#missing[@]}" -gt 0 ] && python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    missing=("${missing[@]/python3-venv}")
    read -r -a missing <<<"${missing[*]}"
fi
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Python tools for the emulator and the differential tests -----------------------------------------------
VENV=.venv-test
REQUIREMENTS=Tests/requirements.txt
if [ ! -f "$VENV/.installed" ] || ! cmp -s "$REQUIREMENTS" "$VENV/.installed"; then
    log "creating $VENV with $(tr '\n' ' ' < "$REQUIREMENTS")"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
    cp "$REQUIREMENTS" "$VENV/.installed"
fi
