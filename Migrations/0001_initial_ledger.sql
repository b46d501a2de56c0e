-- CostGuard ledger, schema version 1.
--
-- Never edit this file once it has shipped: the binary refuses a database whose applied migration text differs
-- from the one it embeds. Add a new numbered file instead.
--
-- Conventions
--   * Times are UTC ISO-8601 text with milliseconds ('2026-11-24T20:39:46.123Z'): readable in the sqlite3 shell,
--     sortable as text, usable with SQLite's date functions.
--   * Every fact says where it came from (`*_source`: the API call or history event) and when it was observed.
--   * NULL means "not known"; it never means "false" or "none".

-- State machines seen in ListStateMachines, with what their definition says about EMR.
CREATE TABLE state_machines (
    arn                     TEXT PRIMARY KEY NOT NULL,
    name                    TEXT NOT NULL,
    region                  TEXT NOT NULL,
    account                 TEXT NOT NULL,
    type                    TEXT CHECK (type IN ('STANDARD', 'EXPRESS')),
    -- DescribeStateMachine revisionId (NULL for an unpublished definition) and the definition's SHA-256:
    -- together they tell whether the definition must be parsed again.
    revision_id             TEXT,
    definition_sha256       TEXT,
    definition_read_at      TEXT,
    -- 'unread' until DescribeStateMachine succeeded; 'unparsable' keeps the state machine visible as unknown.
    definition_status       TEXT NOT NULL DEFAULT 'unread'
                                CHECK (definition_status IN ('unread', 'parsed', 'unparsable')),
    definition_problem      TEXT,
    -- What the definition can do to EMR clusters (NULL until parsed).
    creates_clusters        INTEGER CHECK (creates_clusters IN (0, 1)),
    references_clusters     INTEGER CHECK (references_clusters IN (0, 1)),
    -- Starts child executions (states:startExecution, distributed Map): its executions are followed too.
    follows_children        INTEGER CHECK (follows_children IN (0, 1)),
    -- Incremental ListExecutions cursor: the newest execution already in the ledger.
    newest_execution_start  TEXT,
    newest_execution_arn    TEXT,
    first_seen_at           TEXT NOT NULL,
    last_seen_at            TEXT NOT NULL,
    -- Set when the state machine disappeared from ListStateMachines; its executions stay.
    deleted_at              TEXT
) STRICT;

-- Executions of state machines that touch EMR, and the child executions they start.
CREATE TABLE executions (
    arn                     TEXT PRIMARY KEY NOT NULL,
    state_machine_arn       TEXT NOT NULL REFERENCES state_machines (arn),
    name                    TEXT,
    -- Distributed Map children and startExecution children point at the execution that started them.
    parent_execution_arn    TEXT REFERENCES executions (arn),
    map_run_arn             TEXT,
    status                  TEXT NOT NULL
                                CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED',
                                                  'PENDING_REDRIVE')),
    start_date              TEXT NOT NULL,
    stop_date               TEXT,
    -- Redrive fields from DescribeExecution. redrive_status NULL means the API did not say: not redrivable.
    redrive_count           INTEGER NOT NULL DEFAULT 0 CHECK (redrive_count >= 0),
    redrive_status          TEXT CHECK (redrive_status IN ('REDRIVABLE', 'NOT_REDRIVABLE', 'REDRIVABLE_BY_MAP_RUN')),
    redrive_date            TEXT,
    status_source           TEXT NOT NULL,
    status_observed_at      TEXT NOT NULL,
    -- How far the history has been read: the last event id stored, and the page token to resume from.
    history_last_event_id   INTEGER NOT NULL DEFAULT 0 CHECK (history_last_event_id >= 0),
    history_next_token      TEXT,
    history_status          TEXT NOT NULL DEFAULT 'unread'
                                CHECK (history_status IN ('unread', 'partial', 'complete', 'incomplete')),
    -- Why the history is 'incomplete' (truncated output, unparsable event, page error): such an execution's
    -- clusters are 'unknown', never 'orphan'.
    history_problem         TEXT,
    history_read_at         TEXT,
    first_seen_at           TEXT NOT NULL,
    last_seen_at            TEXT NOT NULL
) STRICT;

CREATE INDEX executions_by_state_machine ON executions (state_machine_arn, start_date);
CREATE INDEX executions_running ON executions (status) WHERE status = 'RUNNING';
CREATE INDEX executions_by_parent ON executions (parent_execution_arn) WHERE parent_execution_arn IS NOT NULL;

-- EMR clusters created by executions.
CREATE TABLE clusters (
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
                                                       'report-only', 'unknown', 'ended')),
    disposition_reason      TEXT,
    disposition_at          TEXT
) STRICT;

CREATE INDEX clusters_by_execution ON clusters (created_by_execution_arn);
CREATE INDEX clusters_by_disposition ON clusters (disposition);
CREATE INDEX clusters_billing ON clusters (state)
    WHERE state IN ('UNKNOWN', 'STARTING', 'BOOTSTRAPPING', 'RUNNING', 'WAITING', 'TERMINATING');

-- Tasks of other executions (or of the creator) that name a cluster. A RUNNING execution that references a cluster
-- protects it, whoever created it, so the cluster id is not a foreign key: it may belong to no tracked execution.
CREATE TABLE cluster_references (
    id                      INTEGER PRIMARY KEY,
    cluster_id              TEXT NOT NULL CHECK (cluster_id GLOB 'j-*'),
    execution_arn           TEXT NOT NULL REFERENCES executions (arn),
    kind                    TEXT NOT NULL
                                CHECK (kind IN ('addStep', 'cancelStep', 'setClusterTerminationProtection',
                                                'terminateCluster', 'modifyInstanceFleetByName',
                                                'modifyInstanceGroupByName', 'other')),
    resource                TEXT NOT NULL,
    event_id                INTEGER NOT NULL,
    observed_at             TEXT NOT NULL,
    UNIQUE (execution_arn, event_id, cluster_id)
) STRICT;

CREATE INDEX cluster_references_by_cluster ON cluster_references (cluster_id);

-- One row per reconcile pass; updated when the pass ends.
CREATE TABLE passes (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at              TEXT NOT NULL,
    ended_at                TEXT,
    trigger                 TEXT NOT NULL CHECK (trigger IN ('reconcile', 'serve')),
    dry_run                 INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
    outcome                 TEXT NOT NULL DEFAULT 'running'
                                CHECK (outcome IN ('running', 'ok', 'attention', 'degraded', 'failed',
                                                   'interrupted')),
    -- Counts by disposition, and AWS calls by service and operation, as JSON objects.
    counts_json             TEXT CHECK (counts_json IS NULL OR json_valid(counts_json)),
    api_calls_json          TEXT CHECK (api_calls_json IS NULL OR json_valid(api_calls_json)),
    api_calls               INTEGER NOT NULL DEFAULT 0 CHECK (api_calls >= 0),
    summary                 TEXT,
    CHECK (ended_at IS NULL OR outcome <> 'running')
) STRICT;

-- The audit journal. Append-only: triggers below reject UPDATE and DELETE.
--   intent   written and committed before a mutating AWS call;
--   outcome  written after it, pointing at its intent (at most one outcome per intent);
--   decision what the policy decided without a mutating call (dry-run would-terminate, deferred, protected, ...).
CREATE TABLE journal (
    seq                     INTEGER PRIMARY KEY AUTOINCREMENT,
    at                      TEXT NOT NULL,
    pass_id                 INTEGER REFERENCES passes (id),
    kind                    TEXT NOT NULL CHECK (kind IN ('intent', 'outcome', 'decision')),
    intent_seq              INTEGER REFERENCES journal (seq),
    action                  TEXT NOT NULL,
    cluster_id              TEXT,
    execution_arn           TEXT,
    region                  TEXT,
    account                 TEXT,
    dry_run                 INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
    -- Outcome rows: 'succeeded', 'failed', or 'unknown' (no answer: the next pass re-checks before anything else).
    result                  TEXT CHECK (result IN ('succeeded', 'failed', 'unknown')),
    request_id              TEXT,
    error_code              TEXT,
    error_message           TEXT,
    -- Why: the facts the decision rested on, for the report.
    reason                  TEXT NOT NULL,
    CHECK ((kind = 'outcome') = (intent_seq IS NOT NULL)),
    CHECK ((kind = 'outcome') = (result IS NOT NULL))
) STRICT;

CREATE UNIQUE INDEX journal_one_outcome_per_intent ON journal (intent_seq) WHERE kind = 'outcome';
CREATE INDEX journal_by_cluster ON journal (cluster_id, seq);
CREATE INDEX journal_by_time ON journal (at);

CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN
    SELECT RAISE(ABORT, 'the CostGuard journal is append-only: UPDATE is not allowed');
END;

CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
BEGIN
    SELECT RAISE(ABORT, 'the CostGuard journal is append-only: DELETE is not allowed');
END;

-- An outcome must answer an intent row, never a decision or another outcome.
CREATE TRIGGER journal_outcome_answers_intent BEFORE INSERT ON journal
WHEN NEW.kind = 'outcome'
BEGIN
    SELECT RAISE(ABORT, 'a journal outcome must reference an intent row')
    WHERE NOT EXISTS (SELECT 1 FROM journal WHERE seq = NEW.intent_seq AND kind = 'intent');
END;
