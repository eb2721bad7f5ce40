"""Chat between a mentor and a mentee: conversations, messages numbered per conversation
and live on `chat:{conversation_id}`, read positions, typing, attachments, pinned lessons,
blocks, reports to moderators, and search."""
