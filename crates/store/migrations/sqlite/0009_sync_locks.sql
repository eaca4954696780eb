-- Sync locks replace sync leases (see `src/locks.rs`): on SQLite the lock is an OS file lock
-- on `<database>.sync-<connection id>.lock`, released by the kernel when its holder's process
-- dies, and the holder records itself in that file. No table is needed.
DROP TABLE sync_leases;
