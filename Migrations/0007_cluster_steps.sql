-- CostGuard ledger, schema version 7: the EMR steps each workflow gave its clusters.

-- A cluster running a step that no workflow CostGuard follows submitted is busy: someone else (a person, another
-- scheduler) is using it, and it is not terminated while that lasts. The steps the workflows gave it are theirs: the
-- `Steps` of the create task (known by name: EMR gives their ids only later) and the steps added by addStep /
-- addJobFlowSteps tasks (by name when scheduled, by id once the task reported it). The cluster id is not a foreign key,
-- as in cluster_references: a step may be added to a cluster CostGuard does not track.
CREATE TABLE cluster_steps (
    id                      INTEGER PRIMARY KEY,
    cluster_id              TEXT NOT NULL CHECK (cluster_id GLOB 'j-*'),
    execution_arn           TEXT NOT NULL REFERENCES executions (arn),
    step_id                 TEXT NOT NULL DEFAULT '',
    step_name               TEXT NOT NULL DEFAULT '',
    event_id                INTEGER NOT NULL,
    observed_at             TEXT NOT NULL,
    CHECK (step_id <> '' OR step_name <> ''),
    UNIQUE (cluster_id, execution_arn, event_id, step_id, step_name)
) STRICT;

CREATE INDEX cluster_steps_by_cluster ON cluster_steps (cluster_id);
