"""The Slack front end: a thin adapter over `qa.service.QAService` (imports go bot -> qa -> index)."""
