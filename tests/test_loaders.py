import json
from pathlib import Path

import pytest

from index.loaders import load_corpus
from tests.conftest import SAMPLE_CORPUS, WriteArticle

PAGE = """<!doctype html><html lang="en"><head><title>Chip plant opens | Tech Dispatch</title>
<link rel="canonical" href="https://techdispatch.example.net/2026/05/chip-plant">
<meta property="og:title" content="Chip plant opens">
<meta property="og:site_name" content="Tech Dispatch">
<meta property="article:published_time" content="2026-05-12T08:00:00Z"></head>
<body><nav><a href="/">Home</a> <a href="/world">World news menu</a></nav>
<article><h1>Chip plant opens</h1>
<p>The new chip plant in Arizona started installing its first lithography tools this week,
the company said.</p>
<p>Production of 3nm wafers is now expected in 2027, a year earlier than first planned by the firm.</p>
</article><footer>Copyright 2026 Tech Dispatch. Subscribe to our newsletter.</footer></body></html>"""


def test_markdown_front_matter(write_article: WriteArticle, corpus_dir: Path) -> None:
    write_article(
        "ai/eu.md",
        "The EU fined a model maker.",
        title="EU fines",
        url="https://x.example/eu",
        published="2026-08-03",
        source="Ledger",
    )
    corpus = load_corpus(corpus_dir)
    [a] = corpus.articles
    assert (a.id, a.title, a.url, a.published, a.source) == (
        "ai/eu",
        "EU fines",
        "https://x.example/eu",
        "2026-08-03",
        "Ledger",
    )
    assert a.text == "The EU fined a model maker."
    assert a.path == "ai/eu.md"


def test_html_main_text_and_metadata(corpus_dir: Path) -> None:
    (corpus_dir / "chip-plant.html").write_text(PAGE, encoding="utf-8")
    [a] = load_corpus(corpus_dir).articles
    assert a.id == "chip-plant"
    assert a.title == "Chip plant opens"
    assert a.url == "https://techdispatch.example.net/2026/05/chip-plant"
    assert a.published == "2026-05-12"
    assert a.source == "Tech Dispatch"
    assert "lithography tools" in a.text and "3nm wafers" in a.text
    assert "menu" not in a.text and "newsletter" not in a.text


def test_jsonl_one_article_a_line_with_bad_lines_reported(corpus_dir: Path) -> None:
    lines = [
        json.dumps({"id": "w/1", "title": "One", "text": "First text.", "published": "2026-04-15"}),
        "{not json",
        json.dumps({"title": "No id", "text": "x"}),
        json.dumps({"_id": "w/2", "title": "Two", "text": "Second text."}),
    ]
    (corpus_dir / "briefs.jsonl").write_text("\n".join(lines), encoding="utf-8")
    corpus = load_corpus(corpus_dir)
    assert [a.id for a in corpus.articles] == ["w/1", "w/2"]
    assert [(s.path, s.whole_file) for s in corpus.skipped] == [
        ("briefs.jsonl:2", False),
        ("briefs.jsonl:3", False),
    ]
    assert "invalid JSON" in corpus.skipped[0].reason and "missing 'id'" in corpus.skipped[1].reason


def test_bad_files_are_reported_with_reasons_and_good_ones_kept(write_article: WriteArticle, corpus_dir: Path) -> None:
    write_article("good-1.md", "A good article about chips.")
    write_article("good-2.md", "Another good article about rates.")
    (corpus_dir / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (corpus_dir / "latin1.md").write_bytes("---\ntitle: Caf\xe9\n---\nPrix en \xa3.".encode("latin-1"))
    (corpus_dir / "empty.md").write_text("")
    (corpus_dir / "big.md").write_text("---\ntitle: Big\n---\n" + "word " * 400)
    (corpus_dir / "broken.md").write_text("---\ntitle: [unclosed\nurl: x\n---\nBody text.\n")
    (corpus_dir / "unclosed.md").write_text("---\ntitle: No end\nBody text.\n")
    (corpus_dir / "notes.pdf").write_bytes(b"%PDF-1.4")
    corpus = load_corpus(corpus_dir, max_bytes=1000)
    assert sorted(a.id for a in corpus.articles) == ["good-1", "good-2"]
    reasons = {s.path: s.reason for s in corpus.skipped}
    assert set(reasons) == {
        "binary.md",
        "latin1.md",
        "empty.md",
        "big.md",
        "broken.md",
        "unclosed.md",
        "notes.pdf",
    }
    assert "binary" in reasons["binary.md"]
    assert "not UTF-8" in reasons["latin1.md"]
    assert "empty" in reasons["empty.md"]
    assert "over the 1,000-byte limit" in reasons["big.md"]
    assert "broken front matter" in reasons["broken.md"]
    assert "no closing" in reasons["unclosed.md"]
    assert "unsupported file type" in reasons["notes.pdf"]
    assert all(s.whole_file for s in corpus.skipped)


def test_bad_published_date_is_reported(write_article: WriteArticle, corpus_dir: Path) -> None:
    write_article("a.md", "Text.", published="next Tuesday")
    corpus = load_corpus(corpus_dir)
    assert corpus.articles == []
    assert "not an ISO date" in corpus.skipped[0].reason


def test_duplicate_ids_keep_the_first(write_article: WriteArticle, corpus_dir: Path) -> None:
    write_article("x.md", "Markdown version.")
    (corpus_dir / "x.txt").write_text("Text version.\n")
    corpus = load_corpus(corpus_dir)
    assert [a.path for a in corpus.articles] == ["x.md"]
    assert "duplicate article id 'x'" in corpus.skipped[0].reason


def test_hidden_files_are_ignored(write_article: WriteArticle, corpus_dir: Path) -> None:
    write_article("a.md", "Visible.")
    (corpus_dir / ".gitkeep").write_text("")
    (corpus_dir / ".drafts").mkdir()
    (corpus_dir / ".drafts" / "b.md").write_text("Draft.")
    corpus = load_corpus(corpus_dir)
    assert [a.id for a in corpus.articles] == ["a"] and corpus.skipped == []


def test_sample_corpus_exercises_every_loader() -> None:
    corpus = load_corpus(SAMPLE_CORPUS)
    assert corpus.skipped == []
    assert len(corpus.articles) >= 12
    suffixes = {Path(a.path).suffix for a in corpus.articles}
    assert {".md", ".html", ".jsonl"} <= suffixes
    assert sum(a.path.endswith(".jsonl") for a in corpus.articles) == 2
    for a in corpus.articles:
        assert a.title and a.url and a.published and a.source, a.id
    assert any("anthropic" in a.id for a in corpus.articles)


@pytest.mark.parametrize("value", ["2026-03-14", "2026-03-14T10:00:00Z"])
def test_published_accepts_iso_dates(write_article: WriteArticle, corpus_dir: Path, value: str) -> None:
    write_article("a.md", "Text.", published=value)
    assert load_corpus(corpus_dir).articles[0].published == "2026-03-14"


def test_size_limit_holds_for_each_article_of_a_jsonl_file(corpus_dir: Path) -> None:
    lines = [json.dumps({"id": f"w/{i}", "title": f"T{i}", "text": "word " * 150}) for i in range(10)]
    lines.append(json.dumps({"id": "w/big", "title": "Big", "text": "word " * 400}))
    (corpus_dir / "many.jsonl").write_text("\n".join(lines), encoding="utf-8")
    corpus = load_corpus(corpus_dir, max_bytes=1000)  # the file is far over 1,000 bytes; each article is not
    assert len(corpus.articles) == 10
    assert [(s.path, s.whole_file) for s in corpus.skipped] == [("many.jsonl:11", False)]
    assert "over the 1,000-byte limit" in corpus.skipped[0].reason
