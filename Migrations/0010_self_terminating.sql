-- costguard: rebuilds-tables
-- CostGuard ledger, schema version 10: clusters that end themselves.
--
-- A cluster created with AutoTerminate (KeepJobFlowAliveWhenNoSteps false) ends after its last step, and one with an
-- auto-termination policy ends after its idle timeout. After a FAILED or TIMED_OUT creator such a cluster is left to
-- end itself for a bounded wait (policy `self_termination_wait`) instead of being killed mid-step: the disposition
-- 'self-terminating'. SQLite cannot change a CHECK constraint in place, so `clusters` is rebuilt as SQLite documents
-- (https://www.sqlite.org/lang_altertable.html#otheralter): the runner turns foreign keys off around this migration
-- (the first-line marker above), runs it in one transaction, and commits only when PRAGMA foreign_key_check is clean.
CREATE TABLE clusters_v10 (
    id                      TEXT PRIMARY KEY NOT NULL CHECK (id GLOB 'j-*'),
    arn                     TEXT,
    name                    TEXT,
    region                  TEXT NOT NULL,
    account                 TEXT NOT NULL,
    -- Provenance: the execution whose history proved it created this cluster, and the event that proved it.
    created_by_execution_arn TEXT NOT NULL REFERENCES executions (arn),
    created_by_event_id     INTEGER NOT NULL,
    created_by_event_type   TEXT NOT NULL,
    created_by_resource     TEXT NOT NULL,
    -- Last observed EMR state ('UNKNOWN' until a ListClusters or DescribeCluster saw it).
    state                   TEXT NOT NULL DEFAULT 'UNKNOWN'
                                CHECK (state IN ('UNKNOWN', 'STARTING', 'BOOTSTRAPPING', 'RUNNING', 'WAITING',
                                                 'TERMINATING', 'TERMINATED', 'TERMINATED_WITH_ERRORS')),
    state_change_reason     TEXT,
    state_source            TEXT,
    state_observed_at       TEXT,
    termination_protected   INTEGER CHECK (termination_protected IN (0, 1)),
    -- Only the tags that matter to the policy (exemption keys), as a JSON object.
    tags_json               TEXT CHECK (tags_json IS NULL OR json_valid(tags_json)),
    normalized_instance_hours INTEGER,
    cluster_created_at      TEXT,
    cluster_ready_at        TEXT,
    cluster_ended_at        TEXT,
    first_seen_at           TEXT NOT NULL,
    last_seen_at            TEXT NOT NULL,
    -- When the policy first found this cluster billing with its workflow ended and no live reference.
    orphaned_since          TEXT,
    disposition             TEXT NOT NULL DEFAULT 'unknown'
                                CHECK (disposition IN ('orphan', 'terminated', 'would-terminate', 'protected',
                                                       'exempt', 'shared', 'live', 'grace', 'deferred',
                                                       'report-only', 'unknown', 'ended', 'self-terminating')),
    disposition_reason      TEXT,
    disposition_at          TEXT,
    -- INSTANCE_GROUP or INSTANCE_FLEET, from DescribeCluster (schema version 2).
    instance_collection_type TEXT
        CHECK (instance_collection_type IS NULL OR instance_collection_type IN ('INSTANCE_GROUP', 'INSTANCE_FLEET')),
    -- DescribeCluster's AutoTerminate: EMR ends the cluster after its last step. NULL until described.
    auto_terminate          INTEGER CHECK (auto_terminate IN (0, 1)),
    -- GetAutoTerminationPolicy's IdleTimeout in seconds (60…604800), NULL when the cluster has none; read in the
    -- re-check of a candidate, when `auto_termination_read_at` is set.
    idle_timeout_seconds    INTEGER CHECK (idle_timeout_seconds IS NULL OR idle_timeout_seconds > 0),
    auto_termination_read_at TEXT
) STRICT;

INSERT INTO clusters_v10 (
    id, arn, name, region, account, created_by_execution_arn, created_by_event_id, created_by_event_type,
    created_by_resource, state, state_change_reason, state_source, state_observed_at, termination_protected, tags_json,
    normalized_instance_hours, cluster_created_at, cluster_ready_at, cluster_ended_at, first_seen_at, last_seen_at,
    orphaned_since, disposition, disposition_reason, disposition_at, instance_collection_type)
SELECT
    id, arn, name, region, account, created_by_execution_arn, created_by_event_id, created_by_event_type,
    created_by_resource, state, state_change_reason, state_source, state_observed_at, termination_protected, tags_json,
    normalized_instance_hours, cluster_created_at, cluster_ready_at, cluster_ended_at, first_seen_at, last_seen_at,
    orphaned_since, disposition, disposition_reason, disposition_at, instance_collection_type
FROM clusters;

DROP TABLE clusters;
ALTER TABLE clusters_v10 RENAME TO clusters;

CREATE INDEX clusters_by_execution ON clusters (created_by_execution_arn);
CREATE INDEX clusters_by_disposition ON clusters (disposition);
CREATE INDEX clusters_billing ON clusters (state)
    WHERE state IN ('UNKNOWN', 'STARTING', 'BOOTSTRAPPING', 'RUNNING', 'WAITING', 'TERMINATING');
