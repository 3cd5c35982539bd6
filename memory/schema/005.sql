-- Version 5: the documents a sender sent or linked, kept so they can ask about them: the
-- latest 3 (DOCUMENT_LIMIT, written out, as a migration never changes), each as JSON with
-- its pages' text; deleted with the sender, and by the retention purge like the history.
CREATE TABLE documents (
    sender TEXT NOT NULL, id TEXT NOT NULL, at REAL NOT NULL, document TEXT NOT NULL,
    PRIMARY KEY (sender, id)
);
CREATE INDEX documents_by_age ON documents (at);
CREATE TRIGGER documents_limit AFTER INSERT ON documents BEGIN
    DELETE FROM documents WHERE sender = new.sender AND id IN (
        SELECT id FROM documents WHERE sender = new.sender
        ORDER BY at DESC, id DESC LIMIT -1 OFFSET 3); END;
