"""Why a question or a topic typed in Slack is not taken, in the bot's words (the rule itself is
qa.questions.refusal, the same for every front end)."""

from __future__ import annotations

from qa.questions import refusal


def why_not(text: str, limit: int, what: str, when_empty: str) -> str | None:
    """The reason `text` is refused (`what` names it: "Your question"), or None."""
    found = refusal(text, limit)
    if found is None:
        return None
    if found.reason == "empty":
        return when_empty
    if found.reason == "unreadable":
        return f"{what} holds characters that are not valid text (a broken emoji?). Please type it again."
    return f"{what} is {found.length:,} characters; the limit is {found.limit:,}. Please shorten it."
