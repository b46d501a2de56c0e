#!/usr/bin/env bash
# Fuzzes CostGuard's parsers of untrusted input with libFuzzer and AddressSanitizer, then replays the regressions.
# Usage: Tests/Fuzz/run.sh [seconds per target (default 45)] [target ...]
# Targets: config definition history emr lists (see FuzzTargets.swift). Exit 0 when nothing was found; a finding is
# written to Tests/Fuzz/findings/<target>/ (kept out of git): reproduce with
#   COSTGUARD_FUZZ_TARGET=<target> .build-fuzz/fuzz <file>
# then fix it and move the file to Tests/Fuzz/regressions/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v swiftc >/dev/null 2>&1 || export PATH="/opt/swift/usr/bin:$PATH"
seconds="${1:-45}"
shift || true
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(config definition history emr lists)
out=.build-fuzz
mkdir -p "$out/src"
# One module: CostGuardCore (with JSONReader), the AWS response shapes (their `import CostGuardCore` dropped) and the entry point.
cp Sources/AWSClients/Services/SFNShapes.swift Sources/AWSClients/Services/EMRShapes.swift "$out/src/"
sed -i '/^public import CostGuardCore$/d' "$out/src/"*.swift
sources=$(find Sources/CostGuardCore -name '*.swift' | sort)
if [ ! -x "$out/fuzz" ] || [ -n "$(find Sources/CostGuardCore Sources/AWSClients/Services Tests/Fuzz/FuzzTargets.swift -newer "$out/fuzz" -name '*.swift' | head -1)" ]; then
    echo "==> building the fuzzer (libFuzzer + AddressSanitizer)" >&2
    # shellcheck disable=SC2086
    swiftc -sanitize=fuzzer,address -parse-as-library -module-name CostGuardFuzz -O -g -enable-upcoming-feature InternalImportsByDefault -enable-upcoming-feature ExistentialAny \
        $sources "$out"/src/*.swift Tests/Fuzz/FuzzTargets.swift -o "$out/fuzz" 2> "$out/build.log" \
        || { cat "$out/build.log" >&2; exit 1; }
fi
status=0
for target in "${targets[@]}"; do
    corpus="$out/corpus/$target"
    findings="Tests/Fuzz/findings/$target"
    mkdir -p "$corpus" "$findings"
    cp Tests/Fuzz/seeds/"$target"/* "$corpus/" 2>/dev/null || true
    # Regressions first: every input that once crashed must now pass.
    if compgen -G "Tests/Fuzz/regressions/$target/*" >/dev/null; then
        COSTGUARD_FUZZ_TARGET=$target "$out/fuzz" Tests/Fuzz/regressions/"$target"/* > "$out/$target-regressions.log" 2>&1 \
            || { echo "fuzz $target: a regression input fails again (see $out/$target-regressions.log)" >&2; status=1; }
    fi
    if COSTGUARD_FUZZ_TARGET=$target "$out/fuzz" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -artifact_prefix="$findings/" -print_final_stats=1 > "$out/$target.log" 2>&1; then
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/$target.log" | grep -o '[0-9]*$' || echo "?")
        cov=$(grep -o 'cov: [0-9]*' "$out/$target.log" | tail -1 | grep -o '[0-9]*' || echo "?")
        echo "fuzz $target: ${seconds}s, $runs inputs, coverage $cov edges, no finding"
    else
        echo "fuzz $target: FINDING — see $out/$target.log and $findings/" >&2
        tail -30 "$out/$target.log" >&2
        status=1
    fi
done
exit $status
