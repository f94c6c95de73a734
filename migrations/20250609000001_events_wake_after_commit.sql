-- The projectors are woken after an append has committed, by the service
-- (src/store/append_wake.rs), no longer from inside the append: PostgreSQL serialises the
-- commits of notifying transactions, each holding one database-wide lock until its commit
-- record is flushed, so every append waited for the previous one's flush.

DROP TRIGGER IF EXISTS events_notify_appended ON events;
DROP FUNCTION IF EXISTS notify_event_appended();
