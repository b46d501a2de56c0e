"""The two HTTP transports side by side, at realistic latency: async-http-client (the default) and the hand-written
SwiftNIO one (`COSTGUARD_HTTP_CLIENT=nio`), on the same fleet and ledger, the emulator adding a fixed wait to every
answer (20 ms by default: a stand-in for the network and service time of a real endpoint).

    transports.py --costguard .build/release/costguard [--latency-ms 0,20] [--passes 7] [fleet.py options]

For each latency, steady passes alternate between the transports (same ledger copy each time, `--dry-run`), and it
prints the medians: pass CPU (the ledger's), process CPU, peak RSS, pass wall, calls.
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
from scale import Emulator, bench_env, build_fleet, costguard_pass, mib, post  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--costguard", required=True)
    parser.add_argument("--python", default=os.path.join(HERE, "..", ".venv-test", "bin", "python"))
    parser.add_argument("--latency-ms", default="0,20")
    parser.add_argument("--passes", type=int, default=7)
    args, fleet_args = parser.parse_known_args()
    fleet_args = fleet_args or ["--machines", "100", "--emr-machines", "20", "--executions", "2000",
                                "--billing", "200", "--done-with-cluster", "40"]
    workdir = tempfile.mkdtemp(prefix="costguard-transports-")
    emulator = Emulator(args.python)
    try:
        build_fleet(args.python, emulator, workdir, fleet_args)
        env = bench_env(emulator, workdir)
        unpaced = os.path.join(workdir, "unpaced.toml")
        with open(unpaced, "w") as handle:
            handle.write("[rate_limits]\nenabled = false\n")
        base = os.path.join(workdir, "base.sqlite")
        costguard_pass(args.costguard, base, env, emulator, config=unpaced)
        rows = []
        for ms in [int(v) for v in args.latency_ms.split(",") if v.strip()]:
            post(emulator.control + "/latency", {"seconds": ms / 1000})
            runs = {"ahc": [], "nio": []}
            try:
                for _ in range(args.passes):
                    for name in ("ahc", "nio"):
                        database = os.path.join(workdir, f"{name}.sqlite")
                        shutil.copy(base, database)
                        for suffix in ("-wal", "-shm"):
                            if os.path.exists(base + suffix):
                                shutil.copy(base + suffix, database + suffix)
                        run_env = dict(env, COSTGUARD_HTTP_CLIENT=name)
                        runs[name].append(costguard_pass(args.costguard, database, run_env, emulator, config=unpaced))
            finally:
                post(emulator.control + "/latency", {"seconds": 0})
            for name, passes in runs.items():
                med = lambda key: statistics.median(p[key] for p in passes)  # noqa: E731
                rows.append({"ms": ms, "transport": name, "passCPU": med("passCPU"), "cpu": med("cpu"),
                             "rss": med("rss"), "passWall": med("passWall"), "calls": med("calls")})
        print("| added latency | transport | calls | pass wall | pass CPU | process CPU | peak RSS |")
        print("|---:|---|---:|---:|---:|---:|---:|")
        for row in rows:
            print(f"| {row['ms']} ms | {row['transport']} | {row['calls']:.0f} | {row['passWall']:.2f} s | "
                  f"{row['passCPU'] * 1000:.1f} ms | {row['cpu'] * 1000:.0f} ms | {mib(row['rss'])} |")
        print(json.dumps(rows))
    finally:
        emulator.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
