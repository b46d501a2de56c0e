-- CostGuard ledger, schema version 5: an index for the RUNNING executions of one state machine.

-- Every pass asks, for each state machine that touches EMR, which of its executions the ledger has as RUNNING. With
-- only `executions_running` SQLite visited every RUNNING execution of the account (and its table row) for each of
-- those state machines: 20,000 rows per pass at 20 state machines and 1,000 RUNNING executions. This one answers
-- each from the index alone.
CREATE INDEX executions_running_by_state_machine ON executions (state_machine_arn, arn) WHERE status = 'RUNNING';
