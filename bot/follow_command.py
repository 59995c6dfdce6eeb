"""`/ask follow <topic>`, `/ask unfollow <topic>` and `/ask following`: a channel's followed topics,
through the slash command the bot already answers. Each reply is an ephemeral confirmation (only
the person who typed it sees it) saying what was saved."""

from __future__ import annotations

from bot.alerts import Alerts
from bot.blocks import escape, shorten
from bot.follows import topic_key
from bot.refusals import why_not

VERBS = ("follow", "unfollow", "following")
MAX_TOPIC_CHARS = 200
MAX_FOLLOWS = 25  # per channel


def subcommand(text: str) -> tuple[str, str] | None:
    """(verb, topic) when the command's text starts with follow / unfollow, or is `following`
    alone; None for anything else, such as a question that starts "Following the vote, …"."""
    first, _, rest = text.strip().partition(" ")
    verb, topic = first.casefold(), " ".join(rest.split())
    if verb not in VERBS or (verb == "following" and topic):
        return None
    return verb, topic


class FollowCommand:
    def __init__(self, alerts: Alerts, command: str) -> None:
        self.alerts = alerts
        self.command = command

    def reply(self, verb: str, topic: str, channel: str, user: str | None) -> str:
        """What the person who typed `/ask <verb> <topic>` is told (mrkdwn)."""
        if verb == "following":
            return self.following(channel)
        if problem := self.problem(verb, topic):
            return problem
        if verb == "unfollow":
            return self.unfollow(channel, topic)
        return self.follow(channel, topic, user)

    def problem(self, verb: str, topic: str) -> str | None:
        example = f"Say which topic, e.g. `{self.command} {verb} AI chip exports`."
        return why_not(topic, MAX_TOPIC_CHARS, "The topic", example)

    def follow(self, channel: str, topic: str, user: str | None) -> str:
        existing = self.alerts.store.follows(channel)
        if len(existing) >= MAX_FOLLOWS and topic_key(topic) not in {topic_key(f.topic) for f in existing}:
            return f"This channel follows {MAX_FOLLOWS} topics, the most it can: `{self.command} unfollow` one first."
        saved, new = self.alerts.follow(channel, topic, user)
        name = _bold(saved.topic)
        if not new:
            return f"This channel already follows {name} (since {saved.created[:10]})."
        limit = self.alerts.max_per_hour
        return (
            f"Saved: this channel now follows {name}. I'll post articles indexed from now on that match it "
            f"(at most {limit} an hour here; I need to be in the channel: `/invite @news-qa`). "
            f"`{self.command} following` lists the topics, `{self.command} unfollow {escape(saved.topic)}` stops it."
        )

    def unfollow(self, channel: str, topic: str) -> str:
        removed = self.alerts.store.unfollow(channel, topic)
        if removed is not None:
            return f"Removed: this channel no longer follows {_bold(removed.topic)}."
        others = self.alerts.store.follows(channel)
        listed = ", ".join(_bold(f.topic) for f in others) or "no topics"
        return f"This channel does not follow {_bold(topic)}; it follows {listed}."

    def following(self, channel: str) -> str:
        stats = self.alerts.store.stats(channel)
        if not stats:
            return f"This channel follows no topics. Try `{self.command} follow AI chip exports`."
        lines = [f"This channel follows {len(stats)} topic{'s' if len(stats) > 1 else ''}:"]
        for s in stats:
            last = f", last {s.last_posted[:16].replace('T', ' ')} UTC" if s.last_posted else ""
            lines.append(f"• {_bold(s.follow.topic)}: since {s.follow.created[:10]}, {s.posted} posted{last}")
        return "\n".join(lines)


def _bold(topic: str) -> str:
    return f"*{escape(shorten(topic, 120))}*"
