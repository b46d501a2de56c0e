-- CostGuard ledger, schema version 3: what a pass costs the host, and an index for the history reads a pass makes.

-- CPU time (user + system) the process spent during the pass, and its resident set size when the pass ended.
ALTER TABLE passes ADD COLUMN cpu_seconds REAL CHECK (cpu_seconds IS NULL OR cpu_seconds >= 0);
ALTER TABLE passes ADD COLUMN rss_bytes INTEGER CHECK (rss_bytes IS NULL OR rss_bytes >= 0);

-- The executions whose history is not read to the end: a pass looks only at these, however many have ended.
CREATE INDEX executions_history_pending ON executions (state_machine_arn) WHERE history_status <> 'complete';

