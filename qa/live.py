"""Keeping the service current: pick up new commits, and re-index when the corpus changes.
`Live` starts what a serving process needs (the HTTP app's lifespan and `qa bot` alike)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Self

from index.errors import IndexNotFound
from index.feeds.config import FeedsFileError
from index.feeds.poll import Poller, RoundReport
from index.feeds.state import PollerBusy
from index.manifest import MANIFEST
from qa.contract import WriteResult
from qa.service import QAService

log = logging.getLogger(__name__)


class Live:
    """Loads the newest commit and the model, then keeps the service current until `stop`: the
    commit poller always, the corpus watcher when `watch`, the feed poller when `feeds`."""

    def __init__(self, service: QAService, *, watch: bool = False, feeds: bool = False) -> None:
        self.service = service
        self.poller = CommitPoller(service, service.settings.reload_interval)
        self.watcher = CorpusWatcher(service, service.settings.watch_debounce_ms) if watch else None
        self.feeds = FeedPoller(service.poller(), service.reindex) if feeds else None

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
        for extra in (self.watcher, self.feeds):
            if extra is not None:
                extra.start()
        return self

    def stop(self) -> None:
        for extra in (self.feeds, self.watcher):
            if extra is not None:
                extra.stop()
        self.poller.stop()


class Background:
    """A daemon thread running `run` until `stop` (which waits up to `join_timeout` seconds)."""

    join_timeout = 10.0

    def __init__(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, name=name, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.join_timeout)

    def wait(self) -> None:
        """Until the thread ends (Ctrl-C still gets through: joins are short)."""
        while self._thread.is_alive():
            self._thread.join(0.5)

    def run(self) -> None:
        raise NotImplementedError


class CommitPoller(Background):
    """Loads each new commit (from any process) within `interval` seconds. A commit renames a new
    manifest into place, so a changed inode or mtime is a new commit."""

    def __init__(self, service: QAService, interval: float) -> None:
        super().__init__("commit-poller")
        self.service = service
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


class CorpusWatcher(Background):
    """Re-indexes after changes in the corpus folder settle (`debounce_ms` of quiet)."""

    def __init__(self, service: QAService, debounce_ms: int) -> None:
        super().__init__("corpus-watcher")
        self.service = service
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


class FeedPoller(Background):
    """Polls the feeds of the feeds file as each falls due and has what a round wrote indexed
    (`reindex`: the service's, which holds the single-writer lock). While the file has no feeds it
    only re-reads it every IDLE_S seconds, so feeds added later (by hand or `qa feeds add`) are
    picked up without a restart. A stop ends a round between two entries."""

    IDLE_S = 5.0

    def __init__(self, poller: Poller, reindex: Callable[[], WriteResult]) -> None:
        super().__init__("feed-poller")
        self.poller = poller
        self.reindex = reindex
        self._last_problem = ""

    def run(self) -> None:
        try:
            count = len(self.poller.status())
        except Exception:  # said by the first round
            count = 0
        if count:
            log.info("feeds: polling the %d feeds of %s as they fall due", count, self.poller.feeds_file)
        else:
            log.info(
                "feeds: none in %s yet (qa feeds add URL); looking again every %g s",
                self.poller.feeds_file,
                self.IDLE_S,
            )
        try:
            while not self._stop.is_set():
                self._stop.wait(self.round())
        finally:
            self.poller.close()

    def round(self) -> float:
        """Poll what is due and index what it wrote; the seconds until the next look."""
        try:
            report = self.poller.poll(stop=self._stop.is_set)
            due = self.poller.next_due()
            self._last_problem = ""
        except PollerBusy:
            return self.IDLE_S  # `qa feeds poll` in another process is at it
        except Exception as e:  # a feeds file being edited, a vanished folder: say it once, keep going
            problem = str(e) if isinstance(e, FeedsFileError) else f"{type(e).__name__}: {e}"
            if problem != self._last_problem:
                log.error("feeds: %s", problem)
                self._last_problem = problem
            return self.IDLE_S
        if report.written:
            self._reindex(report)
        return self.IDLE_S if due is None else min(max(due - self.poller.clock(), 0.1), self.IDLE_S)

    def _reindex(self, report: RoundReport) -> None:
        try:
            result = self.reindex()
        except Exception:  # the articles are in the corpus folder: the next reconcile takes them
            log.exception("feeds: re-index after a poll failed")
            return
        log.info(
            "feeds: %d articles written by %d feeds; %d added, %d changed; index version %d",
            len(report.written),
            sum(1 for f in report.feeds if f.written),
            len(result.added),
            len(result.changed),
            result.index_version,
        )


def _hidden(rel: Path) -> bool:
    """Hidden files: temporary files of editors and of our own durable writes."""
    return any(part.startswith(".") for part in rel.parts)
