-- CostGuard ledger, schema version 12: the outbox of notices to people (issue 29).
--
-- A notice is written in the same transaction as the decision or outcome it reports (a cluster found orphaned,
-- a cluster terminated), one row per channel, and delivered afterwards by the sender (`serve`'s notification
-- service, or `reconcile` after its pass), with retries and backoff. Delivery never blocks or repeats an action. The
-- id makes a notice once per fact: `orphan:<cluster>` and `terminated:<cluster>`, per channel.
CREATE TABLE notices (
    id                      TEXT NOT NULL,
    channel                 TEXT NOT NULL CHECK (channel IN ('webhook')),
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

CREATE INDEX notices_due ON notices (next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
