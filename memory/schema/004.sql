-- Version 4: a message id claimed by the delivery that will answer it, from before it waits
-- for a thread or its sender's lock until it has the lock (which then names the id), so a
-- redelivery meanwhile is told the message is in flight.
CREATE TABLE claims (
    sender TEXT NOT NULL, message_id TEXT NOT NULL, token TEXT NOT NULL,
    expires_at REAL NOT NULL, PRIMARY KEY (sender, message_id)
) WITHOUT ROWID;
