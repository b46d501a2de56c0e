-- costguard: rebuilds-tables
-- CostGuard ledger, schema version 13: notices through Amazon SNS too (a topic per deployment, `[notify]
-- sns_topic_arn`). SQLite cannot change a CHECK in place: the table is rebuilt as SQLite documents (the runner turns
-- foreign keys off around this migration and checks them before it commits), every row kept.
CREATE TABLE notices_new (
    id                      TEXT NOT NULL,
    channel                 TEXT NOT NULL CHECK (channel IN ('webhook', 'sns')),
    kind                    TEXT NOT NULL CHECK (kind IN ('orphan', 'terminated')),
    cluster_id              TEXT NOT NULL REFERENCES clusters (id),
    created_at              TEXT NOT NULL,
    pass_id                 INTEGER REFERENCES passes (id),
    text                    TEXT NOT NULL,
    attempts                INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at         TEXT NOT NULL,
    delivered_at            TEXT,
    failed_at               TEXT,
    last_error              TEXT,
    PRIMARY KEY (id, channel)
) STRICT;

INSERT INTO notices_new SELECT id, channel, kind, cluster_id, created_at, pass_id, text, attempts, next_attempt_at,
    delivered_at, failed_at, last_error FROM notices;
DROP TABLE notices;
ALTER TABLE notices_new RENAME TO notices;
CREATE INDEX notices_due ON notices (next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
