"""Block Kit rendering of answers, within Slack's limits: a text block holds at most 3,000
characters and a message at most 50 blocks, so long text is split and extra blocks trimmed,
never sent over the limit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from qa.contract import NO_ANSWER, AskResult, Citation, answer_text

MAX_TEXT = 3000  # characters in a section's text
MAX_BLOCKS = 50  # blocks in a message
MAX_FALLBACK = 3000  # the notification text: Slack takes 40,000, nobody reads that many
MAX_SOURCES = 5
MAX_CLOSEST = 3
TITLE_CHARS = 150
MAX_QUOTE = 600  # characters of an alert's passage
MAX_URL = 1000  # a longer link is left out rather than eating the text budget
FEEDBACK_BLOCK = "feedback"
VOTES = {"feedback_up": "up", "feedback_down": "down"}

Block = dict[str, Any]


@dataclass(frozen=True)
class Message:
    """A chat.postMessage / chat.update payload: Block Kit blocks and the plain-text fallback."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def escape(text: str) -> str:
    """Slack's three control characters; anything else is shown as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shorten(text: str, limit: int) -> str:
    """One line of at most `limit` characters, cut at a word where one is near."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "…"


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most `limit` characters, split at a line break, else a space, else anywhere."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", limit // 2, limit + 1)
        if cut < 0:
            cut = text.rfind(" ", limit // 2, limit + 1)
        if cut < 0:
            cut = limit
            amp = text.rfind("&", cut - 4, cut)  # never split an escape such as "&amp;" in two
            if amp > 0 and ";" not in text[amp:cut]:
                cut = amp
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text.strip():
        pieces.append(text)
    return pieces


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:MAX_TEXT]}}


def sections(text: str) -> list[Block]:
    return [section(piece) for piece in split_text(text)]


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:MAX_TEXT]}]}


def feedback_buttons(answer_id: str) -> Block:
    def button(action_id: str, label: str) -> Block:
        return {
            "type": "button",
            "action_id": action_id,
            "text": {"type": "plain_text", "text": label, "emoji": True},
            "value": answer_id,
        }

    return {
        "type": "actions",
        "block_id": FEEDBACK_BLOCK,
        "elements": [button("feedback_up", "👍 Helpful"), button("feedback_down", "👎 Not helpful")],
    }


def pick_sources(result: AskResult, limit: int = MAX_SOURCES) -> list[Citation]:
    """The citations the answer refers to first, then the best others, at most `limit`, by number."""
    cited = {n for s in result.sentences for n in s.citations}
    ranked = sorted(result.citations, key=lambda c: (c.n not in cited, c.n))
    return sorted(ranked[:limit], key=lambda c: c.n)


def source_header(group: Sequence[Citation], numbered: bool = True) -> str:
    """`<url|[n][m] title>` · source · date of one article, with the numbers of its passages unless
    not `numbered` (no link when there is no usable URL)."""
    c = group[0]
    numbers = "".join(f"[{x.n}]" for x in group) + " " if numbered else ""
    label = numbers + escape(shorten(c.title, TITLE_CHARS))
    url = (c.url or "").strip()
    usable = url.startswith(("http://", "https://")) and len(url) <= MAX_URL
    head = f"*<{_link(url)}|{label.replace('|', '¦')}>*" if usable else f"*{label}*"
    return " · ".join([head, *(escape(shorten(x, 80)) for x in (c.source, c.published) if x)])


def by_article(citations: Sequence[Citation]) -> list[list[Citation]]:
    """The citations grouped by article, in the order each article is first cited."""
    groups: dict[str, list[Citation]] = {}
    for c in citations:
        groups.setdefault(c.article_id, []).append(c)
    return list(groups.values())


def sources_blocks(heading: str, citations: Sequence[Citation]) -> list[Block]:
    """The heading and one entry an article (title, link, source and date once, then each of its
    passages, numbered when it has several); the quotes shortened so that all fit one block (when
    the links alone are too long for one, the entries go into as many as needed)."""
    if not citations:
        return []
    groups = by_article(citations)
    headers = [source_header(g) for g in groups]
    room = MAX_TEXT - len(heading) - sum(len(h) + 4 for h in headers) - 8 * len(citations)
    budget = max(80, min(300, room // len(citations)))

    def quotes(group: list[Citation]) -> str:
        if len(group) == 1:
            return f">{escape(shorten(group[0].quote, budget))}"
        return "\n".join(f">[{c.n}] {escape(shorten(c.quote, budget))}" for c in group)

    entries = [f"{h}\n{quotes(g)}" for h, g in zip(headers, groups, strict=True)]
    return sections("\n".join([heading, *entries]))


def time_note(result: AskResult) -> str | None:
    """ "As of <date>" for a question about the current state; the window searched for one about a time."""
    if result.time is None:
        return None
    if result.time.latest:
        dates = sorted(s.published for s in result.sentences if s.published)
        return f"As of {dates[-1]} (the newest source)" if dates else None
    return escape(f"Articles published {result.time.from_ or '…'} to {result.time.to or '…'} ({result.time.reason})")


def answer_message(result: AskResult, answer_id: str | None) -> Message:
    """The reply to a question: answer with [n] markers and its sources, or the plain "nothing
    found" with the closest passages; 👍 / 👎 buttons when `answer_id` is given."""
    blocks: list[Block] = []
    if result.sentences:
        blocks += sections(answer_text(result.sentences, escape) or "")
        if note := time_note(result):
            blocks.append(context(note))
        blocks += sources_blocks("*Sources*", pick_sources(result))
        fallback = result.answer or ""
    else:
        fallback = result.message or NO_ANSWER  # why, when the service can say
        blocks.append(section(escape(fallback)))
        blocks += sources_blocks("*Closest passages*", result.citations[:MAX_CLOSEST])
    if answer_id:
        blocks.append(feedback_buttons(answer_id))
    return Message(text=escape(shorten(fallback, MAX_FALLBACK)), blocks=fit(blocks))


def alert_message(topic: str, c: Citation, command: str = "/ask") -> Message:
    """A topic alert: the article (title linked, source, date) and its matching passage, quoted."""
    name = escape(shorten(topic, TITLE_CHARS))
    quote = f">{escape(shorten(c.quote, MAX_QUOTE))}"
    how = f"`{command} following` lists this channel's topics; `{command} unfollow {name}` stops this one."
    blocks = [section(f"New on *{name}*"), *sections(f"{source_header([c], numbered=False)}\n{quote}"), context(how)]
    return Message(text=escape(shorten(f"New on {topic}: {c.title}", MAX_FALLBACK)), blocks=fit(blocks))


def notice(text: str) -> Message:
    """A short reply in one block (too long, empty, error)."""
    return Message(text=shorten(text, MAX_FALLBACK), blocks=fit(sections(text)))


def voted(blocks: list[Block], vote: str, user: str) -> list[Block]:
    """The message's blocks with the buttons replaced by a thank-you."""
    thumb = "👍" if vote == "up" else "👎"
    kept = [b for b in blocks if b.get("block_id") != FEEDBACK_BLOCK]
    return fit([*kept, context(f"{thumb} Thanks for the feedback, <@{escape(user)}>.")])


def fit(blocks: list[Block]) -> list[Block]:
    """At most MAX_BLOCKS blocks: the buttons are kept, the middle is trimmed with a note."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    tail = [b for b in blocks if b.get("type") == "actions"][-1:]
    head = [b for b in blocks if b.get("type") != "actions"][: MAX_BLOCKS - len(tail) - 1]
    return [*head, context("… (trimmed to fit Slack's limit)"), *tail]


def _link(url: str) -> str:
    """A URL safe inside `<…|…>`: the characters that would end the link are percent-encoded."""
    return url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")
