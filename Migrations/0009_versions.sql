-- CostGuard ledger, schema version 9: state machine versions and the versions executions ran.

-- An execution started on a version (or an alias pointing at one) runs that version's definition, not the latest
-- revision: a state machine whose latest revision has no EMR task may still run versions that create clusters. Each
-- published version's definition is read once (versions never change) and what it can do to EMR kept here; a state
-- machine is followed when its latest revision or any of its versions touches EMR.
CREATE TABLE state_machine_versions (
    arn                     TEXT PRIMARY KEY NOT NULL,
    state_machine_arn       TEXT NOT NULL REFERENCES state_machines (arn),
    definition_status       TEXT NOT NULL CHECK (definition_status IN ('parsed', 'unparsable')),
    definition_problem      TEXT,
    creates_clusters        INTEGER NOT NULL DEFAULT 0 CHECK (creates_clusters IN (0, 1)),
    references_clusters     INTEGER NOT NULL DEFAULT 0 CHECK (references_clusters IN (0, 1)),
    follows_children        INTEGER NOT NULL DEFAULT 0 CHECK (follows_children IN (0, 1)),
    read_at                 TEXT NOT NULL
) STRICT;

CREATE INDEX state_machine_versions_by_machine ON state_machine_versions (state_machine_arn);

-- The version and alias an execution was started on (ListExecutions / DescribeExecution), so that exemption patterns
-- match the ARN forms people write (`…:stateMachine:etl:prod`).
ALTER TABLE executions ADD COLUMN state_machine_version_arn TEXT;
ALTER TABLE executions ADD COLUMN state_machine_alias_arn TEXT;
