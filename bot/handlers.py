"""The listeners: mentions, direct messages, the slash command and the 👍 / 👎 buttons. Each
question is answered in its thread by `Answerer`, which never stays silent: 👀 while working, then
an answer, a "nothing found", a reason (empty, too long) or an error id."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import VOTES, Message, answer_message, escape, notice, voted
from bot.feedback import FeedbackStore
from bot.follow_command import FollowCommand, subcommand
from bot.refusals import why_not
from index.errors import IndexNotFound
from qa.service import QAService

log = logging.getLogger(__name__)

WORKING = "eyes"  # 👀
_USER = re.compile(r"<@[A-Z0-9]+(?:\|[^<>]*)?>")
_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")


@dataclass(frozen=True)
class Question:
    text: str  # the question, Slack markup removed
    channel: str
    thread_ts: str  # where the reply goes
    user: str | None
    ts: str | None = None  # the message that asked (gets the 👀)
    follow_up: bool = False  # asked inside an existing thread


def clean_text(text: str) -> str:
    """Plain text from Slack's markup: mentions dropped, links and channels by their label."""

    def label(m: re.Match[str]) -> str:
        target, name = m.group(1), m.group(2)
        if target.startswith("!"):  # <!here>, <!date^…|fallback>
            return name or ""
        if target.startswith("#"):
            return "#" + (name or target[1:])
        return name or target

    text = _LINK.sub(label, _USER.sub(" ", text))
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def question_from(event: dict[str, Any]) -> Question:
    ts, thread = str(event["ts"]), event.get("thread_ts")
    return Question(
        text=clean_text(str(event.get("text") or "")),
        channel=str(event["channel"]),
        thread_ts=str(thread or ts),
        user=event.get("user"),
        ts=ts,
        follow_up=bool(thread and thread != ts),
    )


def new_error_id() -> str:
    return uuid.uuid4().hex[:12]


class Answerer:
    """Answers a question in its thread with the service's cited answer."""

    def __init__(self, service: QAService, store: FeedbackStore) -> None:
        self.service = service
        self.store = store

    @property
    def max_chars(self) -> int:
        return int(self.service.settings.max_query_chars)

    def problem(self, text: str, example: str) -> str | None:
        """Why the question cannot be asked, in the bot's words, or None."""
        return why_not(text, self.max_chars, "Your question", f"Ask me a question about the news, e.g. {example}")

    def reply(self, client: WebClient, q: Question) -> None:
        if problem := self.problem(q.text, "`@news-qa How much revenue did Nvidia forecast?`"):
            self._post(client, q, notice(problem))
            return
        self._react(client, q, "add")
        try:
            self._post(client, q, self._compose(q))
        finally:
            self._react(client, q, "remove")

    def reply_to_command(self, client: WebClient, respond: Respond, channel: str, user: str, text: str) -> None:
        """Post the question in the channel, then answer it in that message's thread."""
        try:
            root = client.chat_postMessage(channel=channel, text=f"<@{user}> asked: {escape(text)}")
        except SlackApiError as e:
            log.info("cannot post the /ask question in %s: %s", channel, e.response.get("error"))
            respond(
                "I can't post in this conversation: invite me to the channel (`/invite @news-qa`) "
                "or ask me in a direct message.",
                response_type="ephemeral",
            )
            return
        ts = str(root["ts"])
        self.reply(client, Question(text, channel, thread_ts=ts, user=user, ts=ts))

    def vote(self, client: WebClient, body: dict[str, Any], action: dict[str, Any]) -> None:
        vote, user = VOTES[action["action_id"]], str(body["user"]["id"])
        self.store.record_vote(str(action.get("value") or ""), vote, user)
        message, channel = body.get("message"), (body.get("channel") or {}).get("id")
        if message and channel:
            blocks = voted(list(message.get("blocks") or []), vote, user)
            client.chat_update(channel=channel, ts=message["ts"], text=message.get("text") or "", blocks=blocks)

    def _asked(self, q: Question) -> str:
        """The question, after the thread's first question when it is a follow-up."""
        earlier = self.store.thread_question(q.channel, q.thread_ts) if q.follow_up else None
        if not earlier or earlier == q.text:
            return q.text
        room = self.max_chars - len(q.text) - 1
        return f"{earlier[:room].rstrip()} {q.text}" if room > 0 else q.text

    def _compose(self, q: Question) -> Message:
        try:
            asked = self._asked(q)
            result = self.service.ask(asked)
            answer_id = self.store.record_answer(
                channel=q.channel, thread_ts=q.thread_ts, user=q.user, question=q.text, asked=asked, result=result
            )
            return answer_message(result, answer_id)
        except IndexNotFound:
            log.warning("a Slack question came before any index was built: run `qa index`")
            return notice("There is no index to answer from yet: an operator needs to run `qa index` first.")
        except Exception:
            error_id = new_error_id()
            log.exception("answering a Slack question failed (error id %s)", error_id)
            return notice(f"Sorry, something went wrong while answering (error id `{error_id}`).")

    def _post(self, client: WebClient, q: Question, message: Message) -> None:
        try:
            client.chat_postMessage(channel=q.channel, thread_ts=q.thread_ts, **message.payload())
        except SlackApiError as e:
            error = e.response.get("error")
            log.error("could not post a reply in %s (error id %s): %s", q.channel, new_error_id(), error)

    def _react(self, client: WebClient, q: Question, how: str) -> None:
        if q.ts is None:
            return
        try:
            call = client.reactions_add if how == "add" else client.reactions_remove
            call(channel=q.channel, timestamp=q.ts, name=WORKING)
        except SlackApiError as e:  # a missing 👀 is no reason to leave the question unanswered
            log.info("reactions.%s failed: %s", how, e.response.get("error"))


def register(app: App, answerer: Answerer, command: str, follows: FollowCommand) -> None:
    """The listeners, the same for HTTP events and Socket Mode. Events are acknowledged before
    they run (bolt, process_before_response=False); commands and buttons ack first thing, except
    `follow` / `unfollow` / `following`, whose ephemeral confirmation is the ack."""

    @app.event("app_mention")
    def on_mention(event: dict[str, Any], client: WebClient) -> None:
        answerer.reply(client, question_from(event))

    @app.event("message")
    def on_message(event: dict[str, Any], client: WebClient) -> None:
        if event.get("channel_type") == "im" and not event.get("subtype"):  # the rest is dropped by middleware
            answerer.reply(client, question_from(event))

    @app.command(command)
    def on_command(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        text = clean_text(str(command.get("text") or ""))
        if (sub := subcommand(text)) is not None:
            ack(follows.reply(*sub, str(command["channel_id"]), command.get("user_id")))
            return
        example = f"`{command.get('command') or '/ask'} How much revenue did Nvidia forecast?`"
        if problem := answerer.problem(text, example):
            ack(problem)  # shown to the asker only
            return
        ack()
        answerer.reply_to_command(client, respond, str(command["channel_id"]), str(command["user_id"]), text)

    @app.action(re.compile(r"^feedback_(up|down)$"))
    def on_vote(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            answerer.vote(client, body, action)
        except Exception:
            log.exception("storing feedback failed (error id %s)", new_error_id())
