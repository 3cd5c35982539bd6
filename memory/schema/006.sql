-- Version 6: the operator console.
-- Its list puts the conversations a person has first, oldest human_since first: an index on
-- the state's human_since holding only those rows (a partial index, so a message to a
-- conversation the bot answers adds nothing to it; the rest are listed by
-- conversations_by_age). json_extract is SQLite's built-in JSON1.
CREATE INDEX conversations_with_person ON conversations (json_extract(state, '$.human_since'))
WHERE json_extract(state, '$.human_since') > 0;
-- The delivery status of each message the bot sent through Twilio's REST API, by its
-- MessageSid: the most advanced status so far and its rank (memory.base.DELIVERY_RANKS, as
-- it was when the status was recorded), Twilio's error code, when that status was recorded
-- (`at`: the purge and the overview's counts go by it), the exchange it belongs to
-- (`about`), the user it went to, and when the store first heard of it (`first_at`: the
-- order of a user's deliveries). Deleted with the sender, and by the retention purge.
CREATE TABLE deliveries (
    sid TEXT PRIMARY KEY, status TEXT NOT NULL, rank INTEGER NOT NULL,
    error_code TEXT NOT NULL, at REAL NOT NULL, about TEXT NOT NULL, sender TEXT NOT NULL,
    first_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX deliveries_by_sender ON deliveries (sender, first_at);
CREATE INDEX deliveries_by_age ON deliveries (at, status);
