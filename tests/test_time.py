"""Time in questions: expressions resolve to the right window for a fixed reference time, "latest"
picks the newest version of a story, an explicit date picks the old one, an empty window answers
with the closest passages and says so, and `now` in the API moves the window."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from index.lexical import tokenize
from qa.config import Settings
from qa.http.app import create_app
from qa.search.when import parse
from qa.service import QAService
from tests.conftest import WriteArticle, hash_service, index_now

D = dt.date


def window(text: str, now: D) -> tuple[D | None, D | None] | None:
    w = parse(text, now).window
    return (w.start, w.end) if w else None


@pytest.mark.parametrize(
    ("text", "now", "expected"),
    [
        ("what happened yesterday?", D(2026, 12, 1), (D(2026, 11, 30), D(2026, 11, 30))),
        ("any news today?", D(2026, 12, 1), (D(2026, 12, 1), D(2026, 12, 1))),
        ("what did the bank do last week?", D(2026, 12, 1), (D(2026, 11, 22), D(2026, 11, 30))),
        ("what changed this week?", D(2026, 12, 3), (D(2026, 11, 30), D(2026, 12, 3))),
        ("what happened this month?", D(2026, 12, 1), (D(2026, 12, 1), D(2026, 12, 1))),
        ("results from last month", D(2026, 12, 1), (D(2026, 11, 1), D(2026, 11, 30))),
        ("results from last month", D(2026, 1, 10), (D(2025, 12, 1), D(2025, 12, 31))),  # year boundary
        ("what did they say last year?", D(2026, 1, 10), (D(2025, 1, 1), D(2025, 12, 31))),
        ("what was agreed three months ago?", D(2026, 12, 1), (D(2026, 8, 17), D(2026, 9, 16))),
        ("how many ships two weeks ago?", D(2026, 12, 1), (D(2026, 11, 14), D(2026, 11, 20))),
        ("who led a few days ago?", D(2026, 12, 1), (D(2026, 11, 25), D(2026, 11, 29))),
        ("what happened since January?", D(2026, 12, 1), (D(2026, 1, 1), D(2026, 12, 1))),
        ("any deals over the past year?", D(2026, 12, 1), (D(2025, 12, 1), D(2026, 12, 1))),
        ("what happened in the last 10 days?", D(2026, 12, 1), (D(2026, 11, 21), D(2026, 12, 1))),
        ("what was the budget in 2024?", D(2026, 12, 1), (D(2024, 1, 1), D(2024, 12, 31))),
        ("what happened in March 2026?", D(2026, 12, 1), (D(2026, 3, 1), D(2026, 3, 31))),
        ("what happened in December?", D(2026, 1, 10), (D(2025, 12, 1), D(2025, 12, 31))),  # the last December
        ("what happened in January?", D(2026, 1, 10), (D(2026, 1, 1), D(2026, 1, 31))),  # this month, so far
        ("what was said in early March?", D(2026, 12, 1), (D(2026, 3, 1), D(2026, 3, 10))),
        ("what did the jury hear on 2 October?", D(2026, 12, 1), (D(2026, 10, 1), D(2026, 10, 3))),
        ("what happened on May 5, 2025?", D(2026, 12, 1), (D(2025, 5, 4), D(2025, 5, 6))),
        ("what happened on 2026-02-03?", D(2026, 12, 1), (D(2026, 2, 2), D(2026, 2, 4))),
        ("what happened yesterday?", D(2028, 3, 1), (D(2028, 2, 29), D(2028, 2, 29))),  # a leap day
        ("what happened on 29 February?", D(2028, 3, 10), (D(2028, 2, 28), D(2028, 3, 1))),
        ("what was the score a year ago?", D(2028, 2, 29), (D(2026, 12, 17), D(2027, 5, 12))),
        ("in February 2028", D(2028, 3, 1), (D(2028, 2, 1), D(2028, 2, 29))),
    ],
)
def test_each_kind_of_expression_resolves_to_its_window(text: str, now: D, expected: tuple[D, D]) -> None:
    assert window(text, now) == expected


@pytest.mark.parametrize(
    "text",
    [
        "May the board approve the merger?",  # "May" the verb, not the month
        "Why did the dock workers walk out?",
        "What happened on 29 February?",  # read against 2027: no such day, so no window
        "Who won the 800m final?",
    ],
)
def test_no_window_without_a_time_expression(text: str) -> None:
    assert window(text, D(2027, 3, 10)) is None


@pytest.mark.parametrize(
    ("text", "latest"),
    [
        ("Is the dock strike still on?", True),
        ("Who is the current chief executive of Norvale?", True),
        ("What's the latest on the merger?", True),
        ("Who runs Norvale Bank now?", True),
        ("How many cases are there these days?", True),
        ("Why did the dock workers walk out?", False),
        ("What did the union say last week?", False),  # a window, not "latest"
    ],
)
def test_latest_intent(text: str, latest: bool) -> None:
    assert parse(text, D(2026, 12, 1)).latest is latest


def test_a_time_expression_is_not_matched_as_words() -> None:
    intent = parse("What did the central bank do last week?", D(2026, 12, 1))
    assert intent.expression == "last week"
    assert "week" not in tokenize([intent.text])[0] and "bank" in tokenize([intent.text])[0]


# -- through the service ------------------------------------------------------------------------

NOW = D(2026, 12, 1)
VERSIONS = {  # one story in three dated versions, near-identical words
    "strike-1": (95, "Dock workers at the Port of Alderhaven walked out over pay; 40 ships wait offshore."),
    "strike-2": (
        50,
        "Dock workers at the Port of Alderhaven stay out as talks over pay collapse; 25 ships wait offshore.",
    ),
    "strike-3": (2, "Dock workers at the Port of Alderhaven return after accepting a pay deal; 8 ships wait offshore."),
}


@pytest.fixture
def story(app_settings: Settings, write_article: WriteArticle) -> Settings:
    for name, (age, text) in VERSIONS.items():
        write_article(
            f"{name}.md", text, title="Alderhaven dock strike", published=(NOW - dt.timedelta(age)).isoformat()
        )
    write_article("other.md", "Ferry timetables change in the spring.", title="Ferries", published="2026-01-05")
    index_now(app_settings)
    return app_settings


def top(service: QAService, text: str, now: D = NOW) -> str:
    return service.search(text, 3, now=now).results[0].article_id


def test_latest_picks_the_newest_version(story: Settings) -> None:
    service = hash_service(story)
    result = service.search("Is the Alderhaven dock strike still on?", 3, now=NOW)
    assert result.results[0].article_id == "strike-3"
    assert result.time is not None and result.time.latest and result.time.as_of == "2026-12-01"


def test_an_explicit_past_date_picks_the_old_version(story: Settings) -> None:
    service = hash_service(story)
    month = (NOW - dt.timedelta(95)).strftime("%B %Y")
    assert top(service, f"How many ships waited at Alderhaven in {month}?") == "strike-1"
    assert top(service, "What happened to the Alderhaven dock workers two months ago?") == "strike-2"
    assert top(service, "What happened to the Alderhaven dock workers two days ago?") == "strike-3"


def test_an_empty_window_answers_with_the_closest_passages_and_says_so(story: Settings) -> None:
    service = hash_service(story)
    result = service.ask("What did the Alderhaven dock workers do in 2019?", now=NOW)
    assert result.answer is None and result.citations  # never an empty answer
    assert result.message and "2019-01-01" in result.message and "closest passages" in result.message
    assert result.time is not None and result.time.from_ == "2019-01-01"


def test_questions_in_an_undated_corpus_are_read_as_words(app_settings: Settings, write_article: WriteArticle) -> None:
    write_article("a.md", "Ferries ran late last week, the operator said.", title="Ferries")
    index_now(app_settings)
    result = hash_service(app_settings).search("ferries late last week", 3, now=NOW)
    assert result.time is None and result.results[0].article_id == "a"


@pytest.fixture
def client(story: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(story, hash_service)) as c:
        yield c


def test_now_in_the_api_moves_the_window(client: TestClient) -> None:
    question = {"query": "Alderhaven dock workers pay last month", "top_k": 3}
    early = client.post("/search", json=question | {"now": (NOW - dt.timedelta(40)).isoformat()}).json()
    late = client.post("/search", json=question | {"now": NOW.isoformat()}).json()
    assert early["time"]["from"] != late["time"]["from"]
    assert early["results"][0]["article_id"] == "strike-1" and late["results"][0]["article_id"] != "strike-1"
    got = client.get("/search", params={"q": "Alderhaven dock strike", "sort": "date", "now": NOW.isoformat()}).json()
    dates = [r["published"] for r in got["results"]]
    assert dates == sorted(dates, reverse=True)


def test_ask_reports_the_date_of_each_answer_sentence(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "Is the Alderhaven dock strike still on?", "now": "2026-12-01"}).json()
    assert body["time"]["latest"] is True
    assert body["sentences"] and all(s["published"] for s in body["sentences"])


def test_whats_new_lists_articles_newest_first(client: TestClient) -> None:
    listed = client.get("/articles", params={"since": "2026-06-01"}).json()["articles"]
    assert [a["id"] for a in listed] == ["strike-3", "strike-2", "strike-1"]
    assert client.get("/articles", params={"source": "nobody"}).json()["articles"] == []
