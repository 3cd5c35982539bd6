-- Version 1: the conversations, their history, the reply records and the senders' locks.
CREATE TABLE conversations (
    sender TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX conversations_by_age ON conversations (updated_at);
CREATE TABLE history (
    id INTEGER PRIMARY KEY, sender TEXT NOT NULL, at REAL NOT NULL, exchange TEXT NOT NULL
);
CREATE INDEX history_by_sender ON history (sender, id);
CREATE INDEX history_by_age ON history (at);
CREATE TABLE replies (
    sender TEXT NOT NULL, message_id TEXT NOT NULL, at REAL NOT NULL,
    exchange TEXT NOT NULL, PRIMARY KEY (sender, message_id)
) WITHOUT ROWID;
CREATE INDEX replies_by_age ON replies (at);
CREATE TABLE locks (
    sender TEXT PRIMARY KEY, token TEXT NOT NULL, expires_at REAL NOT NULL
) WITHOUT ROWID;
