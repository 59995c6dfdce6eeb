"""`qa eval`: retrieval quality on a BEIR-layout dataset, through the product's own paths.

The documents are written as a JSON Lines corpus, indexed by the same write side as `qa index`
(chunked like articles) into a temporary index, and every query goes through the same retrieval
as `/search`. A document's rank is that of its best chunk. As in BEIR's ArguAna convention, a hit
whose id equals the query's id is dropped. Embeddings are cached by model and text hash, so a
re-run embeds nothing.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from index.embedders.cache import CachedEmbedder
from qa.config import Settings
from qa.eval.beir import BeirDataset, Query, load_beir
from qa.eval.indexing import index_articles
from qa.eval.metrics import METRICS
from qa.search.candidates import Method
from qa.service import QAService

DEPTH = 100  # documents ranked per query (Recall@100)


@dataclass(frozen=True)
class EvalReport:
    dataset: str
    queries: int
    methods: dict[str, dict[str, float]]

    def to_json(self) -> dict[str, object]:
        return {"dataset": self.dataset, "queries": self.queries, "methods": self.methods}


def evaluate(
    folder: Path,
    settings: Settings,
    *,
    split: str = "test",
    methods: Sequence[Method] = ("bm25", "dense", "hybrid"),
    cache_dir: Path = Path(".qa-cache"),
    max_queries: int | None = None,
    answer_sample: int = 500,
    progress: bool = False,
) -> EvalReport:
    data = load_beir(folder, split)
    queries = list(data.queries.values())
    if max_queries is not None and max_queries < len(queries):
        queries = random.Random(0).sample(queries, max_queries)
    embedder = CachedEmbedder(settings.embedder_config().load(), cache_dir / "embeddings.sqlite3")
    try:
        with tempfile.TemporaryDirectory(prefix="qa-eval-") as tmp:
            service = _index(data, Path(tmp), settings, embedder, progress)
            embedder.embed_queries([q.text for q in queries])  # batched, then cached
            results: dict[str, dict[str, float]] = {m: _run(service, queries, data, m) for m in methods}
            with_answers = [q for q in queries if q.metadata.get("answers")]
            if with_answers and "hybrid" in results and answer_sample > 0:
                sample = random.Random(1).sample(with_answers, min(answer_sample, len(with_answers)))
                results["hybrid"]["answer_in_sentences"] = _answer_accuracy(service, sample)
                results["hybrid"]["answer_questions"] = float(len(sample))
    finally:
        embedder.close()
    return EvalReport(data.name, len(queries), results)


def _index(data: BeirDataset, tmp: Path, settings: Settings, embedder: CachedEmbedder, progress: bool) -> QAService:
    docs = [{"id": d.id, "title": d.title, "text": d.text} for d in data.documents.values() if d.text.strip()]
    return index_articles(docs, tmp, settings, embedder, progress)


def _run(service: QAService, queries: list[Query], data: BeirDataset, method: Method) -> dict[str, float]:
    totals = dict.fromkeys(METRICS, 0.0)
    t0 = time.perf_counter()
    for q in queries:
        ranked = rank_documents(service, q, method)
        for name, metric in METRICS.items():
            totals[name] += metric(ranked, data.qrels[q.id])
    elapsed = time.perf_counter() - t0
    n = max(1, len(queries))
    out = {name: round(total / n, 4) for name, total in totals.items()}
    out["queries_per_s"] = round(len(queries) / elapsed, 1) if elapsed else 0.0
    return out


def rank_documents(service: QAService, q: Query, method: Method) -> list[str]:
    """Document ids by their best chunk, the query's own id dropped."""
    _, hits = service.retrieve(service.query(q.text, 2 * DEPTH), method)
    ranked: list[str] = []
    seen = {q.id}
    for h in hits:
        if h.row.article_id not in seen:
            seen.add(h.row.article_id)
            ranked.append(h.row.article_id)
    return ranked[:DEPTH]


def _answer_accuracy(service: QAService, queries: list[Query]) -> float:
    """Share of questions whose answer sentences contain one of the gold answer strings."""
    found = 0
    for q in queries:
        text = " ".join(s.text for s in service.ask(q.text).sentences)
        found += any(a in text for a in q.metadata["answers"])
    return round(found / max(1, len(queries)), 4)
