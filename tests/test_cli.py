from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.embedders import HashingEmbedder
from index.writer import IndexWriter
from news_qa.cli import main
from tests.conftest import WriteArticle


@pytest.fixture(autouse=True)
def hash_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, corpus_dir: Path) -> None:
    monkeypatch.setenv("QA_MODEL", "hash")
    monkeypatch.setenv("QA_CORPUS_DIR", str(corpus_dir))
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "index"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_search_without_an_index_says_to_run_qa_index(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "search", "anything")
    assert code == 2
    assert "run `qa index`" in err and out == ""


def test_index_json_then_search_json(capsys: pytest.CaptureFixture[str], write_article: WriteArticle) -> None:
    write_article(
        "rates.md",
        "The central bank held interest rates at 3.5% on Wednesday.",
        title="Fed holds",
        url="https://x.example/fed",
        published="2026-03-18",
        source="Ledger",
    )
    write_article("chips.md", "Chip exports now need a licence.", title="Chip licences")
    code, out, _ = run(capsys, "index", "--json")
    assert code == 0
    result = json.loads(out)
    assert set(result) == {
        "added",
        "changed",
        "deleted",
        "unchanged",
        "skipped",
        "chunks_embedded",
        "index_version",
    }
    assert sorted(result["added"]) == ["chips", "rates"] and result["chunks_embedded"] == 2

    code, out, _ = run(capsys, "search", "interest rates held", "--json", "-k", "1")
    assert code == 0
    body = json.loads(out)
    assert set(body) == {"query", "results", "index_version", "time"}
    assert body["index_version"] == result["index_version"]
    [hit] = body["results"]
    assert set(hit) == {
        "n",
        "article_id",
        "title",
        "url",
        "published",
        "source",
        "quote",
        "start",
        "end",
        "score",
    }
    assert (hit["n"], hit["article_id"], hit["url"], hit["published"]) == (
        1,
        "rates",
        "https://x.example/fed",
        "2026-03-18",
    )
    text = "The central bank held interest rates at 3.5% on Wednesday."
    assert text[hit["start"] : hit["end"]] == hit["quote"]


def test_search_renders_for_a_terminal(capsys: pytest.CaptureFixture[str], write_article: WriteArticle) -> None:
    write_article(
        "rates.md",
        "The central bank held interest rates.",
        title="Fed holds",
        url="https://x.example/fed",
        published="2026-03-18",
        source="Ledger",
    )
    run(capsys, "index", "-q")
    code, out, _ = run(capsys, "search", "interest rates")
    assert code == 0
    assert "[1] Fed holds" in out and "Ledger · 2026-03-18 · https://x.example/fed" in out
    assert "“The central bank held interest rates.”" in out


def test_dry_run_prints_the_plan_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], write_article: WriteArticle, tmp_path: Path
) -> None:
    write_article("a.md", "Text.")
    code, out, _ = run(capsys, "index", "--dry-run")
    assert code == 0 and "add    a" in out and "1 added" in out
    assert not (tmp_path / "index").exists()


def test_bad_files_are_reported_and_the_rest_indexed_with_exit_0(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    write_article: WriteArticle,
    corpus_dir: Path,
) -> None:
    write_article("good.md", "Good text.")
    (corpus_dir / "bad.md").write_bytes(b"\xff\xfe\x00\x00binary")
    code, out, _ = run(capsys, "index", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["added"] == ["good"]
    assert result["skipped"] == [{"path": "bad.md", "reason": "binary file (contains NUL bytes)"}]
    assert "skipped bad.md: binary file" in caplog.text


def test_busy_writer_exits_75(capsys: pytest.CaptureFixture[str], write_article: WriteArticle, tmp_path: Path) -> None:
    write_article("a.md", "Text.")
    with IndexWriter(tmp_path / "index", HashingEmbedder()).lock():
        code, _, err = run(capsys, "index")
    assert code == 75 and "--wait" in err


@pytest.mark.parametrize("argv", [["search", "x", "-k", "0"], ["search", "x", "-k", "51"], ["search", "  "]])
def test_bad_search_arguments(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 1 and err.startswith("qa: ")


def test_index_on_ray_without_ray_installed_says_how_to_get_it_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], write_article: WriteArticle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    write_article("a.md", "Text.")
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    code, _, err = run(capsys, "index", "--ray", "local")
    assert code == 1 and "pip install" in err and "[ray]" in err
    assert not (tmp_path / "index" / "manifest.json").exists()
