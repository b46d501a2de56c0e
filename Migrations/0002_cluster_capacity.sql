-- CostGuard ledger, schema version 2: what a cluster runs, for the cost report.

-- INSTANCE_GROUP or INSTANCE_FLEET, from DescribeCluster.
ALTER TABLE clusters ADD COLUMN instance_collection_type TEXT
    CHECK (instance_collection_type IS NULL OR instance_collection_type IN ('INSTANCE_GROUP', 'INSTANCE_FLEET'));

-- One row per instance group or per (fleet, instance type, market), as last read with ListInstanceGroups or
-- ListInstanceFleets. Replaced as a whole for a cluster each time it is read.
CREATE TABLE cluster_capacity (
    cluster_id              TEXT NOT NULL REFERENCES clusters (id),
    unit_id                 TEXT NOT NULL,
    kind                    TEXT NOT NULL CHECK (kind IN ('group', 'fleet')),
    role                    TEXT,
    instance_type           TEXT NOT NULL,
    market                  TEXT NOT NULL CHECK (market IN ('ON_DEMAND', 'SPOT')),
    -- Instances (groups) or units of capacity (fleets, with the weight of the type) running.
    running_count           INTEGER NOT NULL CHECK (running_count >= 0),
    weight                  INTEGER NOT NULL DEFAULT 1 CHECK (weight >= 1),
    bid_price               TEXT,
    observed_at             TEXT NOT NULL,
    PRIMARY KEY (cluster_id, unit_id, instance_type, market)
) STRICT;

-- The report joins each cluster to its last outcome: index the outcome rows only.
CREATE INDEX journal_outcomes ON journal (cluster_id, seq) WHERE kind = 'outcome';
