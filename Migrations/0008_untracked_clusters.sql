-- CostGuard ledger, schema version 8: billing clusters no followed workflow created.

-- A cluster made by hand, by another tool, or by an execution older than Step Functions' 90-day history is listed
-- by ListClusters but cannot be attributed: CostGuard never acts on it, and `costguard report` shows it with its age
-- and cost so that it is not invisible. Rows are the clusters the last complete listing of their region showed;
-- the pass rewrites a region's rows only when that set (or a state) changed.
CREATE TABLE untracked_clusters (
    id                      TEXT PRIMARY KEY NOT NULL CHECK (id GLOB 'j-*'),
    region                  TEXT NOT NULL,
    account                 TEXT NOT NULL,
    name                    TEXT,
    state                   TEXT NOT NULL,
    cluster_created_at      TEXT,
    normalized_instance_hours INTEGER,
    first_seen_at           TEXT NOT NULL
) STRICT;

CREATE INDEX untracked_clusters_by_region ON untracked_clusters (region);
