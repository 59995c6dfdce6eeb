"""Pydantic models of the HTTP requests (DESIGN.md): validated at the edge. The responses are
`qa.contract`'s shapes."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, field_validator, model_validator

from index.articles import Article
from qa.search.filters import Filters

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Article ids: printable text, no control characters anywhere (C0, DEL, C1), not only white space.
ARTICLE_ID = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"


def _date_string(value: object) -> object:
    """Dates are YYYY-MM-DD strings, as documented: not a number (a Unix time?), not a date-time."""
    if isinstance(value, dt.datetime) or not isinstance(value, str | dt.date):
        raise ValueError("expected a valid date string YYYY-MM-DD")
    if isinstance(value, str) and not _ISO_DATE.match(value.strip()):
        raise ValueError("expected a valid date string YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_date_string)]
TopK = Field(5, ge=1, le=50, description="Number of passages, 1-50")
TopKInt = StrictInt  # `true` is not 1


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str | None = Field(None, max_length=200, description="Exact source name, case-insensitive")
    published_after: IsoDate | None = Field(None, description="Inclusive lower bound (YYYY-MM-DD)")
    published_before: IsoDate | None = Field(None, description="Inclusive upper bound (YYYY-MM-DD)")

    @model_validator(mode="after")
    def _ordered(self) -> FiltersIn:
        if inverted(self.published_after, self.published_before):
            raise ValueError(INVERTED_WINDOW)
        return self

    def to_filters(self) -> Filters:
        return Filters.between(self.source, self.published_after, self.published_before)


INVERTED_WINDOW = "published_after is later than published_before: no day is in that range"


def inverted(after: dt.date | None, before: dt.date | None) -> bool:
    return after is not None and before is not None and after > before


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
    top_k: TopKInt = TopK
    filters: FiltersIn | None = None
    now: ReferenceTime | None = NOW
    sort: Literal["relevance", "date"] = Field("relevance", description="Order of the results: best or newest first")


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., min_length=1)
    top_k: TopKInt = TopK
    filters: FiltersIn | None = None
    now: ReferenceTime | None = NOW


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., min_length=1, max_length=200, pattern=ARTICLE_ID)
    title: str = Field(..., min_length=1, max_length=500)
    text: str = Field(..., min_length=1)
    url: str | None = Field(None, max_length=2000, pattern=r"^https?://\S+$")
    published: IsoDate | None = Field(None, description="YYYY-MM-DD")
    source: str | None = Field(None, max_length=200)

    @field_validator("title")
    @classmethod
    def _title_has_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("title is only white space")
        return value

    def to_article(self) -> Article:
        return Article(
            id=self.id.strip(),
            title=self.title.strip(),
            text=self.text.strip(),
            url=self.url,
            published=self.published.isoformat() if self.published else None,
            source=self.source,
        )


class FetchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(..., min_length=1, max_length=2000, description="An http(s) URL of a page holding one article")
