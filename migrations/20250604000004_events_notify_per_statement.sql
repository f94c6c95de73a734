-- One wake-up per append instead of one per event: a command appends all its events with
-- one INSERT (src/store/event_append.rs), and PostgreSQL folded the per-row notifications
-- into one anyway, after running the trigger once per row.

DROP TRIGGER events_notify_appended ON events;

CREATE TRIGGER events_notify_appended
    AFTER INSERT ON events
    FOR EACH STATEMENT
EXECUTE FUNCTION notify_event_appended();
