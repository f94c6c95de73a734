-- Wakes the outbox relay when the outbox projection derives messages, so a finished
-- batch's completion events leave within milliseconds instead of at the relay's next poll.
-- PostgreSQL folds identical notifications of one transaction into one.

CREATE FUNCTION notify_outbox_derived() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('cj_outbox', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER cj_outbox_notify_derived
    AFTER INSERT ON cj_outbox
    FOR EACH STATEMENT
EXECUTE FUNCTION notify_outbox_derived();
