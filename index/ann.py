"""The approximate index of a large segment: the write side of large-index mode.

A segment of at least `AnnConfig.min_rows` rows gets, beside its `vectors.npy`, a FAISS index in
`ann.faiss` whose ids are the segment's row numbers. It is built when the segment is written
(`index.segments.write_segment`), so an ingest batch or a merge that reaches the threshold gets
one, and a merge, which writes a new segment of the live rows, rebuilds it for free. The reader
(`qa/search/ann.py`) memory-maps it, takes the approximate best `rerank * k` rows and re-scores
them exactly against `vectors.npy`.

Kinds, compared by `bench/search_scale.py --kind`:
  - "ivf" (the default): `IVF{nlist},SQ8`, an inverted file of 8-bit scalar-quantised codes in
    nlist = 4 * sqrt(rows) lists, trained by k-means on `train_per_list * nlist` sampled rows.
    About d + 8 bytes a row (≈ 0.4 GB for 1M rows of dim 384), memory-mapped by the reader;
    deleted or filtered-out rows are skipped while the probed lists are scanned.
  - "hnsw": `HNSW{hnsw_m},SQ8`, a graph over the same codes: 8 * M more bytes a row, read into
    memory rather than mapped, and a lower recall on the bench's data at a similar latency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    import faiss

ANN_FILE = "ann.faiss"
AnnKind = Literal["ivf", "hnsw"]
_ADD_BATCH = 65_536  # rows added at a time, so a memory-mapped vectors.npy is read in pieces


@dataclass(frozen=True)
class AnnConfig:
    """When and how a segment gets an approximate index (`QA_ANN_*` settings)."""

    min_rows: int = 20_000  # segments with fewer rows are searched exactly; 0 turns the mode off
    kind: AnnKind = "ivf"
    nlist: int = 0  # IVF lists; 0: 4 * sqrt(rows)
    train_per_list: int = 50  # k-means training sample: this many rows a list (at most every row)
    hnsw_m: int = 32  # HNSW: neighbours a node
    hnsw_ef_construction: int = 64
    seed: int = 0

    def wanted(self, rows: int) -> bool:
        return self.min_rows > 0 and rows >= self.min_rows

    def lists(self, rows: int) -> int:
        # k-means wants at least 39 training rows a centroid
        return max(1, self.nlist or min(round(4 * math.sqrt(rows)), rows // 39))


def build_ann(vectors: np.ndarray, config: AnnConfig) -> faiss.Index:
    """An inner-product index over `vectors` (L2-normalised float32 rows; ids = row numbers)."""
    import faiss

    n, dim = vectors.shape
    rng = np.random.default_rng(config.seed)
    if config.kind == "ivf":
        nlist = config.lists(n)
        index = faiss.index_factory(dim, f"IVF{nlist},SQ8", faiss.METRIC_INNER_PRODUCT)
        sample_rows = min(n, config.train_per_list * nlist)
    elif config.kind == "hnsw":
        index = faiss.index_factory(dim, f"HNSW{config.hnsw_m},SQ8", faiss.METRIC_INNER_PRODUCT)
        faiss.ParameterSpace().set_index_parameter(index, "efConstruction", config.hnsw_ef_construction)
        sample_rows = min(n, 100_000)  # only the quantiser's range of each dimension is trained
    else:
        raise ValueError(f"unknown ANN kind {config.kind!r}")
    sample = np.sort(rng.choice(n, sample_rows, replace=False)) if sample_rows < n else np.arange(n)
    index.train(np.ascontiguousarray(vectors[sample], dtype=np.float32))
    for start in range(0, n, _ADD_BATCH):
        index.add(np.ascontiguousarray(vectors[start : start + _ADD_BATCH], dtype=np.float32))
    return index


def write_ann(folder: Path, vectors: np.ndarray, config: AnnConfig) -> Path | None:
    """Build and save the segment's approximate index when it is large enough; its path, or None."""
    if not config.wanted(len(vectors)):
        return None
    import faiss

    path = folder / ANN_FILE
    faiss.write_index(build_ann(vectors, config), str(path))
    return path
