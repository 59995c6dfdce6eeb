"""Write side: load articles, chunk them, embed them and commit index snapshots.

Nothing here knows about HTTP, Slack or the read side (`qa`)."""
