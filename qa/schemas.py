"""Pydantic models of the HTTP contract (DESIGN.md): requests validated, responses documented."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _date_string(value: object) -> object:
    """Dates come as YYYY-MM-DD strings; a number is not silently read as a Unix time."""
    if not isinstance(value, str | dt.date):
        raise ValueError("expected a date string YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_date_string)]
TopK = Field(5, ge=1, le=50, description="Number of passages, 1-50")


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str | None = Field(None, max_length=200, description="Exact source name, case-insensitive")
    published_after: IsoDate | None = Field(None, description="Inclusive lower bound (YYYY-MM-DD)")
    published_before: IsoDate | None = Field(None, description="Inclusive upper bound (YYYY-MM-DD)")


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(..., min_length=1, description="Question or search words")
    top_k: int = TopK
    filters: FiltersIn | None = None


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., min_length=1)
    top_k: int = TopK
    filters: FiltersIn | None = None


class CitationOut(BaseModel):
    n: int
    article_id: str
    title: str
    url: str | None
    published: str | None
    source: str | None
    quote: str = Field(description="Verbatim: article.text[start:end]")
    start: int
    end: int
    score: float


class SearchResponse(BaseModel):
    query: str
    results: list[CitationOut]
    index_version: int
    took_ms: float


class SentenceOut(BaseModel):
    text: str = Field(description="Verbatim: text of article `article_id` from `start` to `end`")
    citations: list[int]
    article_id: str
    start: int
    end: int
    score: float


class AskResponse(BaseModel):
    question: str
    answer: str | None = Field(description="Answer sentences with [n] markers; null when nothing answers")
    sentences: list[SentenceOut]
    citations: list[CitationOut]
    index_version: int
    took_ms: float
    message: str | None = Field(description="Said plainly when nothing in the corpus answers")


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$")
    title: str = Field(..., min_length=1, max_length=500)
    text: str = Field(..., min_length=1)
    url: str | None = Field(None, max_length=2000, pattern=r"^https?://\S+$")
    published: IsoDate | None = Field(None, description="YYYY-MM-DD")
    source: str | None = Field(None, max_length=200)


class WriteResponse(BaseModel):
    index_version: int
    added: list[str]
    changed: list[str]
    deleted: list[str]
    unchanged: int
    skipped: list[dict[str, str]]
    chunks_embedded: int


class ReadyResponse(BaseModel):
    status: str
    index_version: int
    articles: int
    chunks: int


class ValidationProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """Every 4xx/5xx: a reason, or for invalid requests (422) the list of what is wrong where."""

    detail: str | list[ValidationProblem]
