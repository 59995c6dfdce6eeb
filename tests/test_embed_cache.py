"""The persistent embedding cache: a second run embeds nothing, and vectors of one backend or
precision are never served for another."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.embedders import HashingEmbedder
from index.embedders.cache import CachedEmbedder


class Precise(HashingEmbedder):
    """The hashing model under a fixed name, as two precisions of one model would be."""

    def __init__(self, precision: str) -> None:
        super().__init__()
        self.name = "one-model"
        self.precision = precision
        self.calls = 0

    @property
    def variant(self) -> str:
        return self.precision

    def embed_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        self.calls += len(texts)
        vectors = super().embed_documents(texts)
        return -vectors if self.precision == "int8" else vectors  # tell the two apart


def test_cache_hits_on_a_second_run_and_keeps_precisions_apart(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    texts = ["Apples grow in orchards.", "Rain fell on the harvest."]
    fp32 = Precise("fp32")
    first = CachedEmbedder(fp32, path).embed_documents(texts)
    again = CachedEmbedder(fp32, path)
    np.testing.assert_array_equal(again.embed_documents(texts), first)
    assert fp32.calls == 2 and again.hits == 2

    int8 = Precise("int8")
    other = CachedEmbedder(int8, path).embed_documents(texts)
    assert int8.calls == 2  # not served from the fp32 entries
    np.testing.assert_array_equal(other, -first)


def test_queries_are_cached_apart_from_documents(tmp_path: Path) -> None:
    class Instructed(Precise):
        def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
            return super().embed_documents([f"query: {t}" for t in texts])

    model = Instructed("fp32")
    cached = CachedEmbedder(model, tmp_path / "cache.sqlite3")
    doc = cached.embed_documents(["chip tariffs"])[0]
    query = cached.embed_query("chip tariffs")
    np.testing.assert_array_equal(query, model.embed_query("chip tariffs"))
    assert not np.allclose(query, doc)
    calls = model.calls
    np.testing.assert_array_equal(cached.embed_queries(["chip tariffs"])[0], query)
    assert model.calls == calls  # the second time from the cache
