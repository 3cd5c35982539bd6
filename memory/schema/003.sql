-- Version 3: the history and the reply records keep themselves to their limits (50 and 200,
-- HISTORY_LIMIT and RECORD_LIMIT, written out, as a migration never changes), inside the
-- statement that adds a row: one statement per table on every message, not two.
CREATE TRIGGER history_limit AFTER INSERT ON history BEGIN
    DELETE FROM history WHERE sender = new.sender AND id <= (
        SELECT id FROM history WHERE sender = new.sender
        ORDER BY id DESC LIMIT 1 OFFSET 50); END;
CREATE TRIGGER replies_limit AFTER INSERT ON replies BEGIN
    DELETE FROM replies WHERE sender = new.sender AND message_id IN (
        SELECT message_id FROM replies WHERE sender = new.sender
        ORDER BY at DESC, message_id DESC LIMIT -1 OFFSET 200); END;
CREATE TRIGGER counts_limit AFTER INSERT ON message_counts BEGIN
    DELETE FROM message_counts WHERE sender = new.sender AND bucket < new.bucket - 1; END;
