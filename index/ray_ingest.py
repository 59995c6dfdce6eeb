"""Chunk and embed on a Ray cluster: `qa index --ray ADDRESS` (or `--ray local`).

Only the CPU work moves: each worker is an actor that loads the model once and runs
`chunk_and_embed` (index/ingest.py) on small tasks of articles. The driver (the writer) keeps
the plan, the lock, the segment writes and the commits, so an index made this way is the one a
local run makes, and a driver that dies before its commit leaves the previous commit serving.

A worker process that dies is restarted by Ray (the model is loaded again) and its task retried;
tasks have no side effects, so a retry can neither duplicate nor lose a chunk.

Ray is an optional extra (`pip install .[ray]`) and is imported only here, on first use.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from typing import Any

from index.articles import Article
from index.chunking import Chunker, ChunkerConfig
from index.embedders import Embedder
from index.errors import IndexStoreError
from index.ingest import Embedded, ProgressFn, chunk_and_embed

log = logging.getLogger(__name__)

LOCAL = "local"
TASK_ARTICLES = 16  # articles per task: small enough to spread over the workers, big enough to batch
RETRIES = 3  # restarts of a dead worker, and retries of the task it was running


class IngestWorker:
    """The actor: one model load, then any number of tasks."""

    def __init__(self, load: Callable[[], Embedder], chunker: ChunkerConfig) -> None:
        self.embedder = load()
        self.chunker = Chunker(self.embedder.tokenizer, chunker, self.embedder.name)
        self.embedder.embed_query("warm up")  # the model loads now, not inside the first task
        self._known: tuple[Any, Collection[str]] | None = None

    def process(self, articles: list[Article], known: list[Any]) -> Embedded:
        """`known` holds (in a list, so Ray passes it unresolved) the reference to the set of hashes
        with a stored vector: fetched once per worker, however many tasks it runs."""
        import ray

        if self._known is None or self._known[0] != known[0]:
            self._known = (known[0], ray.get(known[0]))
        return chunk_and_embed(articles, self.chunker, self.embedder, self._known[1])

    def pid(self) -> int:
        return os.getpid()


class RayIngest:
    """An `Ingest` on Ray. `address` is a cluster address (`ray://…`, `host:port`, `auto`) or
    "local" for a Ray instance started here with one worker per core. Ray is started on the first
    `run` (a reconcile with nothing to embed never starts it) and stopped by `close`."""

    def __init__(
        self,
        address: str,
        load: Callable[[], Embedder],
        chunker: ChunkerConfig,
        *,
        workers: int = 0,
        cpus_per_worker: int = 1,
        task_articles: int = TASK_ARTICLES,
    ) -> None:
        self.address = address.strip()
        self.load = load  # must pickle: it runs in the workers
        self.chunker = chunker
        self.requested = workers  # 0: one per CPU Ray offers
        self.cpus_per_worker = cpus_per_worker
        self.task_articles = task_articles
        self.workers = workers or 1
        self._started_ray = False
        self._actors: list[Any] = []

    def run(self, batches: list[list[Article]], known: Collection[str], progress: ProgressFn) -> Iterator[Embedded]:
        if not batches:
            return
        started = time.perf_counter()
        ray = self._connect()
        from ray.util import ActorPool

        if not self._actors:  # started once, kept for later runs of this writer
            worker = ray.remote(IngestWorker).options(
                num_cpus=self.cpus_per_worker, max_restarts=RETRIES, max_task_retries=RETRIES
            )
            self._actors = [worker.remote(self.load, self.chunker) for _ in range(self.workers)]
            try:
                ray.get([actor.pid.remote() for actor in self._actors])  # each has loaded its model
            except ray.exceptions.RayError as e:
                raise _failure(e) from e
            log.info("%d Ray workers ready in %.1f s", self.workers, time.perf_counter() - started)
        known_ref = ray.put(frozenset(known))
        tasks = [
            (b, batch[i : i + self.task_articles])
            for b, batch in enumerate(batches)
            for i in range(0, len(batch), self.task_articles)
        ]
        left = Counter(b for b, _ in tasks)  # tasks still to come, by batch
        parts: list[Embedded] = []
        results = ActorPool(self._actors).map(lambda actor, task: actor.process.remote(task[1], [known_ref]), tasks)
        for (b, articles), part in zip(tasks, _reported(results, ray), strict=True):  # in submission order
            progress(len(articles), len(part.rows))
            parts.append(part)
            left[b] -= 1
            if not left[b]:
                yield Embedded([row for p in parts for row in p.rows], {h: v for p in parts for h, v in p.new.items()})
                parts = []

    def _connect(self) -> Any:
        try:
            import ray
        except ImportError as e:
            raise IndexStoreError("`--ray` needs Ray: pip install 'news-qa[ray]' (or pip install ray)") from e
        if not ray.is_initialized():
            logging.getLogger("ray").setLevel(logging.WARNING)
            if self.address == LOCAL:
                cores = self.requested * self.cpus_per_worker or os.cpu_count() or 1
                ray.init(
                    address="local",  # a new instance, never a cluster found on this machine
                    num_cpus=cores,
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level=logging.WARNING,
                )
            else:
                try:
                    ray.init(address=self.address, log_to_driver=False, logging_level=logging.WARNING)
                except (ConnectionError, ValueError, RuntimeError) as e:
                    raise IndexStoreError(
                        f"cannot connect to the Ray cluster at {self.address!r}: {e} (a cluster with token "
                        "authentication needs RAY_AUTH_MODE=token and its token here too)"
                    ) from e
            self._started_ray = True
        if not self.requested and not self._actors:
            cpus = int(ray.cluster_resources().get("CPU", 1))
            self.workers = max(1, cpus // self.cpus_per_worker)
        return ray

    def close(self) -> None:
        if not self._actors and not self._started_ray:
            return
        import ray

        for actor in self._actors:
            ray.kill(actor)
        self._actors = []
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False


def _reported(results: Iterator[Embedded], ray: Any) -> Iterator[Embedded]:
    """The results, with a failure that retries did not cure turned into a clear error."""
    try:
        yield from results
    except ray.exceptions.RayError as e:
        raise _failure(e) from e


def _failure(e: Exception) -> IndexStoreError:
    """The error to show: Ray's message ends with the worker's own exception, after its traceback."""
    log.debug("Ray ingest failed: %s", e)
    cause = [line.strip() for line in str(e).splitlines() if line.strip()][-1:] or [type(e).__name__]
    return IndexStoreError(
        f"Ray ingest failed (after up to {RETRIES} retries): {cause[0]}. Batches committed before it are "
        "kept; run `qa index` again to finish"
    )
