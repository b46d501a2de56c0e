-- CostGuard ledger, schema version 11: tasks that name a cluster's instance groups or fleets, not the cluster.
--
-- `aws-sdk:emr:modifyInstanceGroups` may name only `InstanceGroups[].InstanceGroupId` (its `ClusterId` is optional in
-- the EMR API model): the execution uses whichever cluster owns the group. While such an execution runs, every
-- cluster about to be terminated in its account and region has its instance groups (or fleets) read in the re-check
-- before acting; one that owns a named group is kept ('shared'). Ids only: the owner is not known when the history is
-- read, so there is no cluster column.
CREATE TABLE instance_group_references (
    id                      INTEGER PRIMARY KEY,
    execution_arn           TEXT NOT NULL REFERENCES executions (arn),
    unit_id                 TEXT NOT NULL CHECK (unit_id GLOB 'ig-*' OR unit_id GLOB 'if-*'),
    resource                TEXT NOT NULL,
    event_id                INTEGER NOT NULL,
    observed_at             TEXT NOT NULL,
    UNIQUE (execution_arn, unit_id, event_id)
) STRICT;

CREATE INDEX instance_group_references_by_execution ON instance_group_references (execution_arn);
