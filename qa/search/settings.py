"""The read core's settings (prefix QA_): how passages are retrieved, fused, reranked and how
large segments are searched. `qa.config.Settings` includes these."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings

from index.config import ENV
from qa.search.ann import AnnParams


class SearchSettings(BaseSettings):
    model_config = ENV

    top_k: int = Field(5, ge=1, le=50, description="Default number of passages returned")
    retrieval: Literal["hybrid", "dense", "bm25"] = Field("hybrid", description="Retrieval method")
    fusion: Literal["score", "rrf"] = Field("score", description="How hybrid fuses dense and BM25")
    dense_weight: float = Field(0.7, ge=0, le=1, description="Weight of the dense side in fusion (BM25: the rest)")
    rrf_k: int = Field(60, gt=0, description="k of reciprocal-rank fusion")
    candidate_pool: int = Field(100, ge=10, le=2000, description="Candidates taken from each method")
    sentence_weight: float = Field(0.6, ge=0, description="Weight of the best-sentence reranker; 0: off")
    sentence_vector_weight: float = Field(
        0.3, ge=0, description="Weight of the closest-sentence (embedding) reranker; 0: off"
    )
    reranker: str = Field(
        "", description="Cross-encoder reranking: 'ms-marco' (packaged) or a local cross-encoder folder; empty: off"
    )
    reranker_depth: int = Field(30, ge=1, le=200, description="Passages the cross-encoder reranks")
    time_aware: bool = Field(
        True,
        description="Read 'latest', 'last week', 'in March' in questions against the request's reference time "
        "(when the corpus has dates)",
    )
    latest_tolerance: float = Field(
        0.5,
        ge=0,
        le=1,
        description="For 'latest' questions: passages within this share of the top-10 score spread of the best "
        "count as answering equally well, and the newest of them comes first",
    )
    query_cache_size: int = Field(1024, ge=1, description="Query embeddings kept for repeated questions")
    search_threads: int = Field(1, ge=1, description="FAISS threads per query: one is fastest for single queries")
    ann_nprobe: int = Field(AnnParams.nprobe, gt=0, description="IVF lists probed in a large segment")
    ann_rerank: int = Field(
        AnnParams.rerank, gt=0, description="Approximate candidates re-scored exactly, per passage asked for"
    )
    ann_exact_fraction: float = Field(
        AnnParams.exact_fraction,
        ge=0,
        le=1,
        description="When filters and deletions leave less than this share of a large segment, scan it exactly",
    )
