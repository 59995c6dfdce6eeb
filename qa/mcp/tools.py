"""The MCP tools: search_news, ask_news, get_article and latest_news. Each is read-only, takes
JSON Schema arguments with their limits, and returns the public shapes of `qa.contract` as
structured output (citations with `article.text[start:end] == quote`). A bad argument, an unknown
article or a missing index is a tool error with the reason (`isError`), never a protocol error."""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import BeforeValidator, Field

from index.errors import IndexStoreError
from qa.article_text import TextUnavailable
from qa.config import Settings
from qa.contract import ArticleText, AskResult, SearchResult
from qa.http.schemas import INVERTED_WINDOW, IsoDate, ReferenceTime, inverted
from qa.questions import refusal
from qa.search.filters import Filters
from qa.service import BadRange, NotFound, QAService

INSTRUCTIONS = (
    "Search a corpus of news articles and quote it. Every result is a citation: the article's title, "
    "link, source and date, and a passage quoted verbatim with its character offsets (start, end) in "
    "the article's text. Quote those passages rather than paraphrasing from memory, and cite them by "
    "title and date; read around a passage with get_article. When a tool finds nothing, say so."
)


def _not_a_bool(value: object) -> object:
    """JSON's true is not 1."""
    if isinstance(value, bool):
        raise ValueError("expected an integer, not true or false")
    return value


NOT_BOOL = BeforeValidator(_not_a_bool)
TopK = Annotated[int, Field(ge=1, le=50, description="How many passages to return, 1-50"), NOT_BOOL]
Source = Annotated[
    str | None, Field(max_length=200, description="Only articles from this source (exact name, any case)")
]
After = Annotated[IsoDate | None, Field(description="Only articles published on or after this day, YYYY-MM-DD")]
Before = Annotated[IsoDate | None, Field(description="Only articles published on or before this day, YYYY-MM-DD")]
Now = Annotated[
    ReferenceTime | None,
    Field(
        description="The reference time that 'latest', 'last week' or 'in March' in the text are read against "
        "(ISO date or date-time); default: today on the server"
    ),
]
KNOWN_FAILURES = (NotFound, BadRange, TextUnavailable, IndexStoreError)  # IndexStoreError: no index, other model…

ServiceGetter = Callable[[], QAService]


def read_only(title: str) -> ToolAnnotations:
    """What every tool here is: it reads the corpus, changes nothing, and reaches nothing outside it."""
    return ToolAnnotations(
        title=title, read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
    )


@contextmanager
def as_tool_errors() -> Iterator[None]:
    """The service's anticipated failures as tool errors carrying their reason."""
    try:
        yield
    except KNOWN_FAILURES as e:
        raise ToolError(str(e)) from e


def build_server(service: ServiceGetter, settings: Settings) -> MCPServer[Any]:
    """The MCP server over the service that `service()` returns when a tool is called."""
    server: MCPServer[Any] = MCPServer("news-qa", instructions=INSTRUCTIONS, version="0.1.0")
    tools = NewsTools(service, settings)
    for tool, title in (
        (tools.search_news, "Search news"),
        (tools.ask_news, "Answer from the news"),
        (tools.get_article, "Read an article"),
        (tools.latest_news, "Latest news"),
    ):
        server.add_tool(tool, description=inspect.cleandoc(tool.__doc__ or ""), annotations=read_only(title))
    return server


class NewsTools:
    """The tools, as methods over the service (each method's docstring is its description)."""

    def __init__(self, service: ServiceGetter, settings: Settings) -> None:
        self.service = service
        self.settings = settings

    def text_of(self, value: str, what: str) -> str:
        if found := refusal(value, self.settings.max_query_chars):
            raise ToolError(found.message(what))
        return value.strip()

    @staticmethod
    def filters(source: str | None, after: dt.date | None, before: dt.date | None) -> Filters:
        if inverted(after, before):
            raise ToolError(INVERTED_WINDOW)
        return Filters.between(source, after, before)

    def search_news(
        self,
        query: Annotated[str, Field(description="What to look for: a question or search words")],
        top_k: TopK = 5,
        source: Source = None,
        published_after: After = None,
        published_before: Before = None,
        now: Now = None,
        sort: Annotated[Literal["relevance", "date"], Field(description="Best match or newest first")] = "relevance",
    ) -> SearchResult:
        """Find the passages of news articles that best match a query. Returns citations: each has the
        article's id, title, url, source and published date, the passage quoted verbatim (`quote`)
        and its character offsets in the article (`start`, `end`), and a relevance `score`. Use it to
        find what the corpus says about a topic; `time` says which date window a phrase such as
        "last week" was read as. An empty `results` list means nothing matched."""
        with as_tool_errors():
            return self.service().search(
                self.text_of(query, "query"), top_k, self.filters(source, published_after, published_before), now, sort
            )

    def ask_news(
        self,
        question: Annotated[str, Field(description="A question in plain language")],
        top_k: Annotated[int, Field(ge=1, le=50, description="Passages to answer from, 1-50"), NOT_BOOL] = 5,
        source: Source = None,
        published_after: After = None,
        published_before: Before = None,
        now: Now = None,
    ) -> AskResult:
        """Answer a question from the news articles, extractively: `answer` is 1-4 sentences quoted
        verbatim from the articles, each followed by [n] markers that point at `citations` (same
        shape as search_news); `sentences` gives each sentence with its article, offsets and date.
        When nothing in the corpus answers, `answer` is null and `message` says so, and
        `citations` holds the closest passages: report that honestly rather than guessing."""
        with as_tool_errors():
            return self.service().ask(
                self.text_of(question, "question"), top_k, self.filters(source, published_after, published_before), now
            )

    def get_article(
        self,
        id: Annotated[str, Field(min_length=1, max_length=200, description="The article_id of a citation")],
        start: Annotated[
            int, Field(ge=0, description="First character to return (offsets as in citations)"), NOT_BOOL
        ] = 0,
        end: Annotated[
            int | None, Field(ge=0, description="End character, exclusive; default: the end of the article"), NOT_BOOL
        ] = None,
    ) -> ArticleText:
        """Read an article's text, whole or from `start` to `end`, to see the context of a citation:
        the offsets are those of citations, so a citation's quote is `text[c.start - start :
        c.end - start]` when it lies in the range. `length` is the whole article's length; ask
        for a range around a citation (say 1,000 characters either side) to read a long article
        in parts."""
        with as_tool_errors():
            return self.service().article(id, start, end)

    def latest_news(
        self,
        topic: Annotated[
            str | None, Field(description="Only news about this (words or a question); empty: all the newest articles")
        ] = None,
        since: Annotated[IsoDate | None, Field(description="Only articles published on or after this day")] = None,
        source: Source = None,
        limit: Annotated[int, Field(ge=1, le=50, description="How many, 1-50"), NOT_BOOL] = 10,
        now: Annotated[
            ReferenceTime | None,
            Field(description="As of this day (ISO date or date-time): later articles are left out; default: all"),
        ] = None,
    ) -> SearchResult:
        """The newest articles, newest first, as citations (same shape as search_news). Without a
        topic, each article is cited by its opening passage (score 0); with a topic, the passages
        that best match it are returned newest first. Articles without a date come last."""
        with as_tool_errors():
            text = self.text_of(topic, "topic") if topic is not None and topic.strip() else None
            return self.service().latest(text, since, source, limit, now)
