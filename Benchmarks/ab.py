"""Two builds of CostGuard side by side on the same fleet and ledger, at realistic latency: a change's before and
after, measured where its effect would show.

    ab.py --before OLD/costguard --after NEW/costguard [--latency-ms 0,20] [--rounds 3] [--serve-seconds 40]
          [fleet.py options]

The emulator adds a fixed wait to every answer (`--latency-ms`, 0 and 20 ms by default; 20 ms stands in for the
network and service time of a real endpoint, an assumption, not a measurement of AWS). For each latency, in turns
(before, after, before, …; each time on a fresh copy of the same ledger, `--dry-run`, rate limits off):

- `reconcile`: one steady pass per process (what a timer runs): pass CPU and wall from the ledger, process CPU and
  peak RSS from `wait4`;
- `serve` for `--serve-seconds` with a pass every 4 s: the median of its steady passes (the first, which reads what
  the copy of the ledger does not know yet, left out) and its peak RSS (VmHWM): what a long-running daemon pays per
  pass, where state kept between passes (memos, caches) would save.

Prints one table with the medians and the AWS calls per pass (which must be equal), and the rows as JSON.
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from scale import Emulator, bench_env, build_fleet, costguard_pass, mib, post, soak  # noqa: E402


def copy_ledger(base, database):
    shutil.copy(base, database)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(base + suffix):
            shutil.copy(base + suffix, database + suffix)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", required=True)
    parser.add_argument("--python", default=os.path.join(HERE, "..", ".venv-test", "bin", "python"))
    parser.add_argument("--latency-ms", default="0,20")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve-seconds", type=int, default=40)
    args, fleet_args = parser.parse_known_args()
    fleet_args = fleet_args or ["--machines", "100", "--emr-machines", "20", "--executions", "2000",
                                "--billing", "200", "--done-with-cluster", "40"]
    builds = {"before": os.path.abspath(args.before), "after": os.path.abspath(args.after)}
    workdir = tempfile.mkdtemp(prefix="costguard-ab-")
    emulator = Emulator(args.python)
    try:
        build_fleet(args.python, emulator, workdir, fleet_args)
        env = bench_env(emulator, workdir)
        unpaced = os.path.join(workdir, "unpaced.toml")
        with open(unpaced, "w") as handle:
            handle.write("[rate_limits]\nenabled = false\n")
        base = os.path.join(workdir, "base.sqlite")
        costguard_pass(builds["before"], base, env, emulator, config=unpaced)
        rows = []
        for ms in [int(v) for v in args.latency_ms.split(",") if v.strip()]:
            post(emulator.control + "/latency", {"seconds": ms / 1000})
            runs = {name: {"reconcile": [], "serve": []} for name in builds}
            try:
                for _ in range(args.rounds):
                    for name, binary in builds.items():
                        database = os.path.join(workdir, f"{name}.sqlite")
                        copy_ledger(base, database)
                        runs[name]["reconcile"].append(
                            costguard_pass(binary, database, env, emulator, config=unpaced))
                        copy_ledger(base, database)
                        runs[name]["serve"].append(soak(binary, database, env, args.serve_seconds, 4, unpaced))
            finally:
                post(emulator.control + "/latency", {"seconds": 0})
            for name, measured in runs.items():
                one = measured["reconcile"]
                served = measured["serve"]
                rows.append({
                    "ms": ms, "build": name,
                    "reconcilePassCPU": statistics.median(p["passCPU"] for p in one),
                    "reconcilePassWall": statistics.median(p["passWall"] for p in one),
                    "reconcileCPU": statistics.median(p["cpu"] for p in one),
                    "reconcileRSS": statistics.median(p["rss"] for p in one),
                    "reconcileCalls": statistics.median(p["calls"] for p in one),
                    "servePassCPU": statistics.median(s["passCPUMedian"] for s in served),
                    "servePassWall": statistics.median(s["passWallMedian"] for s in served),
                    "serveRSS": statistics.median(s["peakRSS"] for s in served),
                    "serveCalls": statistics.median(s["callsMedian"] for s in served),
                    "servePasses": sum(s["passes"] for s in served),
                })
        print("| added latency | build | calls | reconcile: pass wall | pass CPU | process CPU | peak RSS "
              "| serve: pass wall | pass CPU | CPU share | peak RSS |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r['ms']} ms | {r['build']} | {r['reconcileCalls']:.0f} / {r['serveCalls']:.0f} | "
                  f"{r['reconcilePassWall']:.2f} s | {r['reconcilePassCPU'] * 1000:.1f} ms | "
                  f"{r['reconcileCPU'] * 1000:.0f} ms | {mib(r['reconcileRSS'])} | {r['servePassWall']:.2f} s | "
                  f"{r['servePassCPU'] * 1000:.1f} ms | {100 * r['servePassCPU'] / r['servePassWall']:.1f}% | "
                  f"{mib(r['serveRSS'])} |")
        print(json.dumps(rows))
    finally:
        emulator.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
