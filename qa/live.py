"""Keeping the service current: pick up new commits, and re-index when the corpus changes.
`Live` starts what a serving process needs (the HTTP app's lifespan and `qa bot` alike)."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Self

from index.errors import IndexNotFound
from index.manifest import MANIFEST
from qa.service import QAService

log = logging.getLogger(__name__)


class Live:
    """Loads the newest commit and the model, then keeps the service current until `stop`: the
    commit poller always, the corpus watcher when `watch`."""

    def __init__(self, service: QAService, *, watch: bool = False) -> None:
        self.service = service
        self.poller = CommitPoller(service, service.settings.reload_interval)
        self.watcher = CorpusWatcher(service, service.settings.watch_debounce_ms) if watch else None

    def start(self) -> Live:
        try:
            self.poller.check()
            self.service.embedder.embed_query("warm up")  # load the model now, not on the first question
        except IndexNotFound:
            log.warning(
                "no index in %s yet: questions are refused until `qa index` commits one",
                self.service.settings.index_dir,
            )
        self.poller.start()
        if self.watcher is not None:
            self.watcher.start()
        return self

    def stop(self) -> None:
        self.poller.stop()
        if self.watcher is not None:
            self.watcher.stop()


class _Background:
    """A daemon thread running `run` until `stop`."""

    def __init__(self, service: QAService, name: str) -> None:
        self.service = service
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, name=name, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def run(self) -> None:
        raise NotImplementedError


class CommitPoller(_Background):
    """Loads each new commit (from any process) within `interval` seconds. A commit renames a new
    manifest into place, so a changed inode or mtime is a new commit."""

    def __init__(self, service: QAService, interval: float) -> None:
        super().__init__(service, "commit-poller")
        self.interval = interval
        self._seen: tuple[int, int] | None = None

    def check(self) -> bool:
        """Load the newest commit if the manifest changed; True when it did."""
        try:
            st = os.stat(Path(self.service.settings.index_dir) / MANIFEST)
        except FileNotFoundError:
            return False
        stamp = (st.st_ino, st.st_mtime_ns)
        if stamp == self._seen:
            return False
        self.service.refresh()
        self._seen = stamp
        return True

    def run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # keep serving the commit we have; say why the new one failed
                log.exception("could not load the newest commit")


class CorpusWatcher(_Background):
    """Re-indexes after changes in the corpus folder settle (`debounce_ms` of quiet)."""

    def __init__(self, service: QAService, debounce_ms: int) -> None:
        super().__init__(service, "corpus-watcher")
        self.debounce_ms = debounce_ms

    def run(self) -> None:
        """Reconcile once the watch is in place (so no change slips between the two), then after
        every settled batch of changes, until stopped."""
        from watchfiles import watch

        corpus = Path(self.service.settings.corpus_dir)
        started = False
        for changes in watch(
            corpus,
            debounce=self.debounce_ms,
            stop_event=self._stop,
            rust_timeout=200,
            yield_on_timeout=True,
            raise_interrupt=False,
        ):
            if not started:
                started = True
                self._reindex("start")
            paths = {Path(p) for _, p in changes}
            if paths and not all(_hidden(p.relative_to(corpus)) for p in paths):
                self._reindex(f"{len(paths)} changed paths")

    def _reindex(self, why: str) -> None:
        try:
            result = self.service.reindex()
            log.info(
                "re-indexed (%s): %d added, %d changed, %d deleted; index version %d",
                why,
                len(result.added),
                len(result.changed),
                len(result.deleted),
                result.index_version,
            )
        except Exception:  # a bad moment (e.g. the folder vanished) must not end the watcher
            log.exception("re-index after corpus change failed")


def _hidden(rel: Path) -> bool:
    """Hidden files: temporary files of editors and of our own durable writes."""
    return any(part.startswith(".") for part in rel.parts)
