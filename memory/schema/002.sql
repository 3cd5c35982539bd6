-- Version 2: messages counted per sender and minute, for the rate limit.
CREATE TABLE message_counts (
    sender TEXT NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (sender, bucket)
) WITHOUT ROWID;
