"""`qa watch` / QA_WATCH: the corpus folder is re-indexed after changes settle."""

from __future__ import annotations

from pathlib import Path

from index.embedders import HashingEmbedder
from index.errors import IndexNotFound
from index.manifest import read_manifest
from qa.config import Settings
from qa.live import CommitPoller, CorpusWatcher
from qa.service import QAService
from tests.conftest import WriteArticle, eventually


def indexed_ids(settings: Settings) -> set[str]:
    try:
        return set(read_manifest(settings.index_dir).articles)
    except IndexNotFound:
        return set()


def test_watcher_reindexes_after_changes_settle(
    settings: Settings, write_article: WriteArticle, corpus_dir: Path
) -> None:
    write_article("a.md", "First article about tariffs.")
    service = QAService(settings, HashingEmbedder())
    watcher = CorpusWatcher(service, debounce_ms=200).start()
    try:
        assert eventually(lambda: indexed_ids(settings) == {"a"})  # initial reconcile
        write_article("b.md", "Second article about satellites.")
        (corpus_dir / ".b.md.swp").write_text("editor temp file")
        assert eventually(lambda: indexed_ids(settings) == {"a", "b"})
        (corpus_dir / "a.md").unlink()
        assert eventually(lambda: indexed_ids(settings) == {"b"})
        assert service.search("satellites").results[0].article_id == "b"
    finally:
        watcher.stop()


def test_poller_loads_each_new_commit(settings: Settings, write_article: WriteArticle) -> None:
    write_article("a.md", "First article.")
    service = QAService(settings, HashingEmbedder())
    poller = CommitPoller(service, interval=0.05)
    assert poller.check() is False  # no index yet
    first = service.reindex().index_version
    assert poller.check() is True and service.snapshot().version == first
    assert poller.check() is False  # nothing new
    write_article("b.md", "Second article.")
    service.writer().reconcile(settings.corpus_dir)  # a commit the service did not make itself
    assert poller.check() is True and service.snapshot().version > first
