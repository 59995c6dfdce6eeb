"""Settings: environment variables with prefix QA_ (and a .env file), one cached object."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.ann import AnnConfig
from qa.ann_search import AnnParams
from qa.retrieval import RetrievalConfig


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", env_file=".env", extra="ignore")

    corpus_dir: Path = Field(Path("corpus"), description="Folder of source articles")
    index_dir: Path = Field(Path(".qa-index"), description="Folder of the committed index")
    model: str = Field(
        "",
        description="Embedding model: empty for the bundled all-MiniLM-L6-v2, "
        "a local sentence-transformers folder, or 'hash' (tests only)",
    )
    embed_backend: Literal["onnx", "onnx-int8", "torch"] = Field(
        "onnx-int8",
        description="How the bundled model runs: ONNX int8 (fastest; SQuAD nDCG@10 within 0.001 of PyTorch in "
        "hybrid retrieval), ONNX fp32 (the same vectors as PyTorch), or PyTorch",
    )
    model_cache_dir: Path | None = Field(None, description="Where ONNX exports are cached (default: beside the index)")
    max_article_bytes: int = Field(5_000_000, gt=0, description="Larger corpus files are skipped")
    embed_batch_size: int = Field(32, gt=0, description="Texts per embedding batch")
    chunk_overlap: int = Field(1, ge=0, description="Sentences shared by consecutive chunks")
    batch_articles: int = Field(256, gt=0, description="Articles per segment and commit while indexing")
    retire_grace_s: float = Field(
        0.0,
        ge=0,
        description="Seconds a segment no commit refers to is kept before it is deleted, for replicas on "
        "shared storage still reading an older commit; 0: deleted at once",
    )
    ray_address: str = Field(
        "",
        description="`qa index` chunks and embeds on this Ray cluster ('local': a Ray instance started "
        "here); empty: in-process. Needs the [ray] extra",
    )
    ray_workers: int = Field(0, ge=0, description="Ray ingest workers (one core each); 0: one per core of the cluster")
    top_k: int = Field(5, ge=1, le=50, description="Default number of passages returned")
    retrieval: Literal["hybrid", "dense", "bm25"] = Field("hybrid", description="Retrieval method")
    fusion: Literal["score", "rrf"] = Field("score", description="How hybrid fuses dense and BM25")
    dense_weight: float = Field(0.6, ge=0, le=1, description="Weight of the dense side in fusion")
    rrf_k: int = Field(60, gt=0, description="k of reciprocal-rank fusion")
    sentence_weight: float = Field(0.6, ge=0, description="Weight of the best-sentence reranker; 0: off")
    reranker: str = Field("", description="Local cross-encoder folder for reranking; empty: off")
    query_cache_size: int = Field(1024, ge=1, description="Query embeddings kept for repeated questions")
    search_threads: int = Field(1, ge=1, description="FAISS threads per query: one is fastest for single queries")
    candidate_pool: int = Field(100, ge=10, le=2000, description="Candidates taken from each method")
    max_query_chars: int = Field(1000, gt=0, description="Longer questions and queries are refused")
    answer_threshold: float = Field(
        0.575, description="Best sentence score below which /ask says nothing answers the question"
    )
    api_keys: str = Field("", description="Comma-separated keys for the admin routes; empty: admin off")
    watch: bool = Field(False, description="Under `qa serve`, re-index when the corpus folder changes")
    reload_interval: float = Field(0.5, gt=0, description="Seconds between checks for a new commit")
    watch_debounce_ms: int = Field(1500, gt=0, description="Quiet time before `qa watch` re-indexes")
    ann_min_rows: int = Field(
        AnnConfig.min_rows,
        ge=0,
        description="Segments of at least this many rows get an approximate index when written and are "
        "searched through it; 0: exact search only",
    )
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

    def retrieval_config(self, method: str | None = None) -> RetrievalConfig:
        return RetrievalConfig(
            method=method or self.retrieval,  # type: ignore[arg-type]
            fusion=self.fusion,
            dense_weight=self.dense_weight,
            rrf_k=self.rrf_k,
            pool=self.candidate_pool,
            sentence_weight=self.sentence_weight,
            reranker=self.reranker,
        )

    def ann_config(self) -> AnnConfig:
        """Write side: which segments get an approximate index."""
        return AnnConfig(min_rows=self.ann_min_rows)

    def ann_params(self) -> AnnParams:
        """Read side: how large segments are searched."""
        return AnnParams(
            min_rows=self.ann_min_rows,
            nprobe=self.ann_nprobe,
            rerank=self.ann_rerank,
            exact_fraction=self.ann_exact_fraction,
        )

    @property
    def model_cache(self) -> Path:
        return self.model_cache_dir or Path(self.index_dir).resolve().parent / ".qa-models"

    @property
    def api_key_list(self) -> list[str]:
        return [k.strip() for k in self.api_keys.split(",") if k.strip()]

    @property
    def max_body_bytes(self) -> int:
        """Request bodies: one article at the size limit, plus room for its JSON."""
        return self.max_article_bytes + 64 * 1024


@lru_cache
def get_settings() -> Settings:
    return Settings()
