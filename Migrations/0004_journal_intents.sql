-- CostGuard ledger, schema version 4: an index for the open-intent check every pass makes first.

-- The intents (one per mutating call): a pass looks for those without an outcome, and without this index it read the
-- whole journal to find them (every decision row too: ~65 ms of CPU per pass at 1,000,000 journal rows).
CREATE INDEX journal_intents ON journal (seq) WHERE kind = 'intent';
