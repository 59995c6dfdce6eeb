"""Pydantic models of the HTTP requests (DESIGN.md): validated at the edge. The responses are
`qa.contract`'s shapes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from index.articles import Article
from qa.search.filters import Filters


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

    def to_filters(self) -> Filters:
        return Filters(
            source=self.source,
            published_after=self.published_after.isoformat() if self.published_after else None,
            published_before=self.published_before.isoformat() if self.published_before else None,
        )


def _reference_time(value: object) -> object:
    """`now`: an ISO date or date-time string; its day is what counts."""
    if not isinstance(value, str):
        raise ValueError("expected an ISO date (YYYY-MM-DD) or date-time string")
    try:
        return dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00")).date()
    except ValueError as e:
        raise ValueError("expected an ISO date (YYYY-MM-DD) or date-time string") from e


ReferenceTime = Annotated[dt.date, BeforeValidator(_reference_time)]
NOW = Field(
    None,
    description="The reference time that 'latest', 'last week' or 'in March' are read against (ISO date or "
    "date-time); default: the server's clock",
)


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(..., min_length=1, description="Question or search words")
    top_k: int = TopK
    filters: FiltersIn | None = None
    now: ReferenceTime | None = NOW
    sort: Literal["relevance", "date"] = Field("relevance", description="Order of the results: best or newest first")


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., min_length=1)
    top_k: int = TopK
    filters: FiltersIn | None = None
    now: ReferenceTime | None = NOW


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$")
    title: str = Field(..., min_length=1, max_length=500)
    text: str = Field(..., min_length=1)
    url: str | None = Field(None, max_length=2000, pattern=r"^https?://\S+$")
    published: IsoDate | None = Field(None, description="YYYY-MM-DD")
    source: str | None = Field(None, max_length=200)

    def to_article(self) -> Article:
        return Article(
            id=self.id.strip(),
            title=self.title.strip(),
            text=self.text.strip(),
            url=self.url,
            published=self.published.isoformat() if self.published else None,
            source=self.source,
        )
