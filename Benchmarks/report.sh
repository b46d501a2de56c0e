#!/usr/bin/env bash
# Benchmark: `costguard report` on a ledger with 100,000 clusters and 1,000,000 journal rows.
# Builds the ledger with the real schema (the test helper creates and migrates it), fills it with SQL, then times
# the report in each format (best of 3 runs, wall time) and prints a table. Usage: Benchmarks/report.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null 2>&1 || export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release --product costguard >&2
swift build -c release --product costguard-test-helper >&2
bin="$(swift build -c release --show-bin-path)"
work="$(mktemp -d)"
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
db="$work/ledger.sqlite"
"$bin/costguard-test-helper" write-batches "$db" 1 >/dev/null
clusters=${CLUSTERS:-100000}
journal=${JOURNAL:-1000000}
sqlite3 "$db" <<SQL
PRAGMA journal_mode = WAL;
BEGIN;
INSERT INTO state_machines (arn, name, region, account, first_seen_at, last_seen_at, definition_status, creates_clusters)
VALUES ('arn:aws:states:us-east-1:123456789012:stateMachine:bench', 'bench', 'us-east-1', '123456789012',
        '2026-11-01T00:00:00.000Z', '2026-11-01T00:00:00.000Z', 'parsed', 1);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $clusters)
INSERT INTO executions (arn, state_machine_arn, status, start_date, stop_date, status_source, status_observed_at,
                        first_seen_at, last_seen_at, history_status)
SELECT 'arn:aws:states:us-east-1:123456789012:execution:bench:e' || i, 'arn:aws:states:us-east-1:123456789012:stateMachine:bench',
       CASE i % 4 WHEN 0 THEN 'RUNNING' WHEN 1 THEN 'ABORTED' WHEN 2 THEN 'FAILED' ELSE 'SUCCEEDED' END,
       '2026-11-20T00:00:00.000Z', CASE i % 4 WHEN 0 THEN NULL ELSE '2026-11-20T01:00:00.000Z' END, 'bench',
       '2026-11-20T00:00:00.000Z', '2026-11-20T00:00:00.000Z', '2026-11-20T00:00:00.000Z', 'complete' FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $clusters)
INSERT INTO clusters (id, name, region, account, created_by_execution_arn, created_by_event_id, created_by_event_type,
                      created_by_resource, state, first_seen_at, last_seen_at, cluster_created_at, orphaned_since, disposition)
SELECT printf('j-BENCH%08d', i), 'bench-' || i, 'us-east-1', '123456789012',
       'arn:aws:states:us-east-1:123456789012:execution:bench:e' || i, 5, 'TaskSubmitted', 'elasticmapreduce:createCluster.sync',
       CASE i % 5 WHEN 0 THEN 'TERMINATED' ELSE 'WAITING' END, '2026-11-20T00:00:00.000Z', '2026-11-20T00:00:00.000Z',
       '2026-11-20T00:00:00.000Z', CASE i % 4 WHEN 0 THEN NULL ELSE '2026-11-20T01:00:00.000Z' END,
       CASE i % 5 WHEN 0 THEN 'terminated' WHEN 1 THEN 'would-terminate' WHEN 2 THEN 'protected' WHEN 3 THEN 'live' ELSE 'report-only' END
FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $clusters)
INSERT INTO cluster_capacity (cluster_id, unit_id, kind, role, instance_type, market, running_count, observed_at)
SELECT printf('j-BENCH%08d', i), 'ig-' || i, 'group', 'CORE', 'm5.xlarge', 'ON_DEMAND', 3, '2026-11-20T00:00:00.000Z' FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $journal)
INSERT INTO journal (at, kind, action, cluster_id, dry_run, reason)
SELECT '2026-11-20T02:00:00.000Z', 'decision', 'would-terminate', printf('j-BENCH%08d', 1 + i % $clusters), 1, 'bench' FROM n;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
size=$(du -h "$db" | cut -f1)
echo "work: $work" >&2
printf '\nledger: %s clusters, %s journal rows, %s on disk; machine: %s cores, %s\n' "$clusters" "$journal" "$size" "$(nproc)" "$(date -u +%F)"
printf '%-34s %10s %12s\n' "command" "best wall" "output"
for args in "report" "report --all" "report --all --format json" "report --all --format csv" "journal --since 1h"; do
    best=""
    for run in 1 2 3; do
        start=$(date +%s.%N)
        NO_COLOR=1 "$bin/costguard" $args --database "$db" > "$work/out"
        end=$(date +%s.%N)
        t=$(echo "$end - $start" | bc)
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
    done
    printf '%-34s %9.3fs %12s\n' "costguard $args" "$best" "$(du -h "$work/out" | cut -f1)"
done
