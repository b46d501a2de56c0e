#!/usr/bin/env bash
# Installs CostGuard the way a Debian admin expects:
#   /usr/local/bin/costguard                         the binary (release build; the migrations are embedded)
#   /etc/costguard/costguard.toml                    the example configuration (an existing file is kept)
#   /etc/systemd/system/costguard.service            the service (Type=notify)
#   /etc/systemd/system/costguard-reconcile.{service,timer}   or the timer
#   /usr/local/share/doc/costguard/                  README, IAM policy, report schema
#   bash, zsh and fish completions, and the man page costguard(1) (generated from the argument parser)
# Nothing is enabled or started: choose the service or the timer afterwards (see the README).
# Options (environment): DESTDIR (stage into a directory), PREFIX (default /usr/local),
# COSTGUARD_BIN (install this binary instead of building one).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${PREFIX:-/usr/local}"
root="${DESTDIR:-}"
manual=""
if [ -n "${COSTGUARD_BIN:-}" ]; then
    binary="$COSTGUARD_BIN"
    manual="${COSTGUARD_MANPAGE:-}"
else
    command -v swift >/dev/null 2>&1 || export PATH="/opt/swift/usr/bin:$PATH"
    bash Deploy/dev-setup.sh
    swift build -c release --product costguard
    binary="$(swift build -c release --show-bin-path)/costguard"
    # argument-parser's plugin writes costguard.1 from the same definitions as --help.
    swift package generate-manual --date "$(date -u +%F)" >/dev/null
    manual="$(find .build/plugins/GenerateManual/outputs/costguard -name costguard.1 | head -n 1)"
fi
install -d -m 0755 "$root$prefix/bin" "$root/etc/costguard" "$root/etc/systemd/system" \
    "$root$prefix/share/doc/costguard" "$root$prefix/share/bash-completion/completions" \
    "$root$prefix/share/zsh/site-functions" "$root$prefix/share/fish/vendor_completions.d"
install -m 0755 "$binary" "$root$prefix/bin/costguard"
if [ ! -e "$root/etc/costguard/costguard.toml" ]; then
    install -m 0644 Deploy/costguard.toml "$root/etc/costguard/costguard.toml"
else
    echo "kept the existing $root/etc/costguard/costguard.toml (the new example is in the doc directory)"
fi
for unit in costguard.service costguard-reconcile.service costguard-reconcile.timer; do
    sed "s|/usr/local/bin/costguard|$prefix/bin/costguard|; s|/usr/local/share/doc|$prefix/share/doc|" "Deploy/$unit" \
        > "$root/etc/systemd/system/$unit"
    chmod 0644 "$root/etc/systemd/system/$unit"
done
install -m 0644 README.md Deploy/iam-policy.json Deploy/costguard.toml Deploy/schemas/report-v1.schema.json \
    "$root$prefix/share/doc/costguard/"
"$binary" --generate-completion-script bash > "$root$prefix/share/bash-completion/completions/costguard"
"$binary" --generate-completion-script zsh > "$root$prefix/share/zsh/site-functions/_costguard"
"$binary" --generate-completion-script fish > "$root$prefix/share/fish/vendor_completions.d/costguard.fish"
if [ -n "$manual" ]; then
    install -d -m 0755 "$root$prefix/share/man/man1"
    install -m 0644 "$manual" "$root$prefix/share/man/man1/costguard.1"
fi
echo "installed costguard $("$binary" --version) under ${root:-/}"
if [ -z "$root" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    echo "next: systemctl enable --now costguard.service   (or costguard-reconcile.timer)"
fi
