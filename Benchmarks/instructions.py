"""Instructions per steady `costguard serve` pass, counted by callgrind. Run by Benchmarks/instructions.sh.

A pass's CPU seconds on a shared 2-core VM move by ±40 % within minutes (Benchmarks/README.md), so a change of a few
per cent cannot be seen in them. callgrind counts the instructions the process executes in user space: the same
binary on the same fleet gives the same count to within 0.1 % whatever else the machine does. It does not count the
kernel's work (system calls, TCP on loopback) nor cycles lost to cache misses, so it ranks changes to CostGuard's
own code; CPU seconds (Benchmarks/scale.sh) remain the figure the target is stated in.

One run: starts the emulator, builds the fleet (fleet.py, same options), makes a first pass (empty ledger, unpaced),
then for each binary given runs `serve` under callgrind on a copy of that ledger (a pass every second, dry run,
unpaced) with a dump before every `Reconciler.runPass`, so that each dump holds one pass and the wait after it. The
first two dumps (start-up, the process's first pass) are left out; the others' median is the steady pass.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scale  # noqa: E402  (the emulator and a measured pass, as the account-scale benchmark runs them)

# libdispatch's main thread waits in sigsuspend(2) with a mask valgrind (3.19 to 3.24) cannot read: it dies with
# SIGSEGV in its own sigdelset. The mask is copied to the stack first; the call is otherwise the same.
SHIM = r"""
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int sigsuspend(const sigset_t *mask) {
    sigset_t copy;
    memcpy(&copy, mask, sizeof copy);
    return (int)syscall(SYS_rt_sigsuspend, &copy, 8);
}
"""


def run_pass_symbol(binary):
    """The mangled name of `Reconciler.runPass()`'s entry (not its async continuations)."""
    symbols = subprocess.run(["nm", binary], capture_output=True, text=True, check=True).stdout
    names = [line.split()[-1] for line in symbols.splitlines() if re.search(r"ReconcilerV7runPass\w*YKF$", line)]
    if len(names) != 1:
        raise SystemExit(f"{binary}: expected one Reconciler.runPass entry symbol, found {names}")
    return names[0]


def count(valgrind, shim, binary, ledger, env, seconds, workdir, label):
    """Runs `serve` under callgrind for `seconds`; returns the instruction count of each steady pass."""
    out = os.path.join(workdir, f"callgrind-{label}")
    os.makedirs(out)
    argv = [valgrind, "--tool=callgrind", f"--callgrind-out-file={out}/out.%p", f"--dump-before={run_pass_symbol(binary)}",
            binary, "serve", "--database", ledger, "--interval", "1s", "--metrics-address", "off", "--dry-run",
            "--config", os.path.join(workdir, "unpaced.toml")]
    # The same hash seeds every run: Swift's Set and Dictionary otherwise probe differently in each process.
    process = subprocess.Popen(argv, env=dict(env, LD_PRELOAD=shim, SWIFT_DETERMINISTIC_HASHING="1"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(seconds)
    process.terminate()
    _, stderr = process.communicate(timeout=120)
    dumps = sorted((f for f in os.listdir(out) if re.search(r"\.\d+\.\d+$", f)), key=lambda f: int(f.rsplit(".", 1)[1]))
    counts = []
    for name in dumps[2:]:
        with open(os.path.join(out, name)) as handle:
            summary = next((line for line in handle if line.startswith("summary:")), None)
        if summary:
            counts.append(int(summary.split()[1]))
    if len(counts) < 3:
        raise SystemExit(f"{label}: only {len(counts)} steady passes in {seconds} s under callgrind; "
                         f"give more --seconds. valgrind said: {stderr.decode(errors='replace')[-2000:]}")
    return counts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--costguard", action="append", required=True,
                        help="a costguard binary (give it more than once to compare builds on one fleet)")
    parser.add_argument("--valgrind", required=True, help="valgrind 3.22 or later (reads Swift 6's DWARF 5)")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--seconds", type=int, default=60, help="how long each binary's serve runs under callgrind")
    parser.add_argument("--padded", action="store_true",
                        help="also count each binary on a copy padded like scale.py's (--pad-clusters, --pad-journal)")
    parser.add_argument("--pad-clusters", type=int, default=100000)
    parser.add_argument("--pad-journal", type=int, default=1000000)
    args, fleet_args = parser.parse_known_args()
    workdir = tempfile.mkdtemp(prefix="costguard-instructions-")
    shim_source = os.path.join(workdir, "sigsuspend.c")
    with open(shim_source, "w") as handle:
        handle.write(SHIM)
    shim = os.path.join(workdir, "sigsuspend.so")
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", shim, shim_source], check=True)
    with open(os.path.join(workdir, "unpaced.toml"), "w") as handle:
        handle.write("[rate_limits]\nenabled = false\n")
    emulator = scale.Emulator(args.python)
    try:
        scale.build_fleet(args.python, emulator, workdir, fleet_args)
        env = scale.bench_env(emulator, workdir)
        base = os.path.join(workdir, "base", "ledger.sqlite")
        os.makedirs(os.path.dirname(base))
        first = scale.costguard_pass(args.costguard[0], base, env, emulator, config=os.path.join(workdir, "unpaced.toml"))
        print(f"first pass: {first['calls']} AWS calls", file=sys.stderr)
        rows = []
        for n, binary in enumerate(args.costguard):
            for padded in [False, True] if args.padded else [False]:
                # Each run starts from the same ledger (a folder of its own: the lock file sits beside the ledger).
                label = f"{n}-padded" if padded else str(n)
                ledger = os.path.join(workdir, f"run-{label}", "ledger.sqlite")
                os.makedirs(os.path.dirname(ledger))
                shutil.copy(base, ledger)
                if padded:
                    scale.pad_ledger(ledger, args.pad_clusters, args.pad_journal)
                # One pass outside callgrind first: the copy is a new file, so its whole-file check is due at open.
                scale.costguard_pass(binary, ledger, env, emulator)
                counts = count(args.valgrind, shim, binary, ledger, env, args.seconds, workdir, label)
                rows.append((binary + (f" (ledger + {args.pad_clusters} clusters, {args.pad_journal} journal rows)"
                                       if padded else ""), counts))
        print("| binary | steady passes | instructions per pass (median) | min | max |")
        print("|---|---:|---:|---:|---:|")
        for binary, counts in rows:
            print(f"| {binary} | {len(counts)} | {statistics.median(counts):,.0f} | {min(counts):,} | {max(counts):,} |")
        if args.padded:
            for n in range(len(args.costguard)):
                plain, padded = statistics.median(rows[2 * n][1]), statistics.median(rows[2 * n + 1][1])
                print(f"- {args.costguard[n]}: padded ledger {padded / plain * 100 - 100:+.2f}% instructions per steady pass")
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
