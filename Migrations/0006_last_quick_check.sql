-- CostGuard ledger, schema version 6: the last whole-file check, so that it is not repeated at every open.

-- `PRAGMA quick_check` reads every page of the file: 1.7 s of CPU for a ledger of 100,000 clusters and 1,000,000
-- journal rows, four times a steady `reconcile` pass when it ran at every open. CostGuard now makes it before
-- writing only when it is due (see `QuickCheckSchedule`): no check recorded, the last one older than the interval,
-- made before the machine last booted (another boot id), or made of another file (another device or inode: a copy, a
-- restore). One row: the last check that found no damage (a check that finds damage stops CostGuard, writing nothing).
CREATE TABLE last_quick_check (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at TEXT NOT NULL,
    boot_id TEXT NOT NULL,
    file_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    seconds REAL NOT NULL CHECK (seconds >= 0)
);
