"""The public shapes, defined once: what the service returns, what HTTP, `--json` and Slack show,
and what the OpenAPI document describes (DESIGN.md's contracts). Changing a field here changes
the contract: `tests/contract/openapi.json` must be regenerated on purpose (tests/test_contract.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict, Field

NO_ANSWER = "Nothing in the corpus answers this question."


class Shape(BaseModel):
    """Immutable, and strict about its fields both ways: no unknown field in, none out."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Citation(Shape):
    n: int = Field(description="Citation number, from 1, as the [n] markers of an answer use it")
    article_id: str
    title: str
    url: str | None
    published: str | None = Field(description="Publication date of the article, YYYY-MM-DD")
    source: str | None
    quote: str = Field(description="Verbatim: article.text[start:end]")
    start: int
    end: int
    score: float


class AnswerSentence(Shape):
    text: str = Field(description="Verbatim: text of article `article_id` from `start` to `end`")
    citations: list[int] = Field(description="Numbers of the cited passages that hold this sentence")
    article_id: str
    start: int
    end: int
    score: float
    published: str | None = Field(None, description="When the sentence's article was published, YYYY-MM-DD")


class TimeApplied(Shape):
    """What the question said of time, and what the search did with it."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, serialize_by_alias=True)

    from_: str | None = Field(alias="from", description="First day of the window searched (inclusive), YYYY-MM-DD")
    to: str | None = Field(description="Last day of the window searched (inclusive), YYYY-MM-DD")
    reason: str = Field(description="The expression and how it was read, or why the window was let go")
    latest: bool = Field(False, description="The newest of equally good passages was put first")
    as_of: str = Field(description="The reference time the question was read against, YYYY-MM-DD")


class SearchResult(Shape):
    query: str
    results: list[Citation]
    index_version: int
    took_ms: float
    stages_ms: dict[str, float] = Field(
        default_factory=dict,
        description="Milliseconds per stage of the read core, in running order: embed, dense, lexical, fuse, "
        "rerank (and answer, for /ask)",
    )
    time: TimeApplied | None = None


class AskResult(Shape):
    question: str
    answer: str | None = Field(description="Answer sentences with [n] markers; null when nothing answers")
    sentences: list[AnswerSentence]
    citations: list[Citation]
    index_version: int
    took_ms: float
    stages_ms: dict[str, float] = Field(
        default_factory=dict,
        description="Milliseconds per stage of the read core, in running order: embed, dense, lexical, fuse, "
        "rerank (and answer, for /ask)",
    )
    message: str | None = Field(description="Said plainly when nothing in the corpus answers")
    time: TimeApplied | None = None

    @classmethod
    def of(
        cls,
        question: str,
        sentences: list[AnswerSentence],
        citations: list[Citation],
        index_version: int,
        took_ms: float,
        time: TimeApplied | None = None,
        message: str | None = None,
        stages_ms: dict[str, float] | None = None,
    ) -> AskResult:
        return cls(
            question=question,
            answer=answer_text(sentences),
            sentences=sentences,
            citations=citations,
            index_version=index_version,
            took_ms=took_ms,
            stages_ms=stages_ms or {},
            message=None if sentences else (message or NO_ANSWER),
            time=time,
        )


class ArticleOut(Shape):
    id: str
    title: str
    url: str | None
    published: str | None = Field(description="YYYY-MM-DD")
    source: str | None


class ArticleText(ArticleOut):
    """An article's text, or the part of it from `start` to `end`: the text citations' offsets point into."""

    text: str = Field(description="Verbatim: the article's text from `start` to `end`")
    start: int = Field(description="Offset of `text` in the article's text (characters)")
    end: int = Field(description="End offset of `text` (exclusive)")
    length: int = Field(description="Characters in the article's whole text")
    index_version: int


class ArticleList(Shape):
    articles: list[ArticleOut] = Field(description="Newest first")
    index_version: int


class SkippedFile(Shape):
    path: str
    reason: str


class WriteResult(Shape):
    """What a write (reconcile, add, delete) did, and the index version it committed."""

    index_version: int
    added: list[str]
    changed: list[str]
    deleted: list[str]
    unchanged: int
    skipped: list[SkippedFile]
    chunks_embedded: int


class Ready(Shape):
    status: str
    index_version: int
    articles: int
    chunks: int


class Health(Shape):
    status: str


class ValidationProblem(Shape):
    loc: list[str | int]
    msg: str
    type: str


class Problem(Shape):
    """Every 4xx/5xx: a reason, or for invalid requests (422) the list of what is wrong where."""

    detail: str | list[ValidationProblem]


def answer_text(sentences: Sequence[AnswerSentence], escape: Callable[[str], str] = str) -> str | None:
    """The sentences joined, each followed by its citation markers: "Text. [1][3]" (each text
    passed through `escape`, e.g. for Slack's markup)."""
    if not sentences:
        return None
    return " ".join(f"{escape(s.text)} {''.join(f'[{n}]' for n in s.citations)}" for s in sentences)
