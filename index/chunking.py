"""Sentence-aware chunking sized to what the embedding model actually reads.

Each chunk is a run of whole sentences of one article (a sentence longer than the budget is cut
at token boundaries), with `overlap` sentences shared with the previous chunk. The text embedded
is `title + "\\n" + quote` (`index.ids.titled`), and that whole string, special tokens included,
fits the model's token limit; the title never enters the quote, and `article.text[start:end] == quote`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from index.articles import Article
from index.embedders.protocol import Tokenizer
from index.ids import TITLE_SEPARATOR, chunk_id, embed_hash, titled
from index.sentences import split_sentences, strip_span


@dataclass(frozen=True, slots=True)
class Chunk:
    """One passage of an article, as a segment stores it (one row of `chunks.jsonl`)."""

    id: int  # stable: index.ids.chunk_id
    article_id: str
    ordinal: int
    start: int
    end: int
    text: str  # the quote: article.text[start:end]
    embed_hash: str  # index.ids.embed_hash of the model and the embedded text: the key for re-use


class Embeddable(NamedTuple):
    """A chunk as it is made, with the text the model reads for it (title and quote)."""

    chunk: Chunk
    text: str


@dataclass(frozen=True, slots=True)
class ChunkerConfig:
    max_tokens: int = 256  # the model's limit, special tokens included
    special_tokens: int = 2
    overlap: int = 1  # sentences shared by consecutive chunks
    max_title_tokens: int = 32

    def as_dict(self) -> dict[str, int]:
        return {
            "max_tokens": self.max_tokens,
            "special_tokens": self.special_tokens,
            "overlap": self.overlap,
            "max_title_tokens": self.max_title_tokens,
        }


class Chunker:
    """Chunks articles for the embedding model named `model` (whose `tokenizer` counts)."""

    def __init__(self, tokenizer: Tokenizer, config: ChunkerConfig, model: str) -> None:
        if config.max_tokens - config.special_tokens - config.max_title_tokens < 16:
            raise ValueError("max_tokens leaves fewer than 16 tokens for the passage")
        if config.overlap < 0:
            raise ValueError("overlap must be >= 0")
        self.tok = tokenizer
        self.config = config
        self.model = model

    def chunk(self, article: Article) -> list[Embeddable]:
        title = self._short_title(article.title)
        limit = self.config.max_tokens - self.config.special_tokens
        budget = limit - (self.tok.count([title + TITLE_SEPARATOR])[0] if title else 0)
        pieces = self._pieces(article.text, budget)
        counts = self.tok.count([article.text[s:e] for s, e in pieces])
        groups = self._group(counts, budget)
        chunks = [self._make(article, title, pieces, g, n) for n, g in enumerate(groups)]
        # Word pieces add up across white space, but check the exact string the model will read.
        exact = self.tok.count([c.text for c in chunks])
        if any(n > limit for n in exact):
            groups = self._group_exact(article, title, pieces, limit)
            chunks = [self._make(article, title, pieces, g, n) for n, g in enumerate(groups)]
        return chunks

    def _short_title(self, title: str) -> str:
        title = " ".join(title.split())
        ends = self.tok.token_ends(title)
        if len(ends) <= self.config.max_title_tokens:
            return title
        return title[: ends[self.config.max_title_tokens - 1]]

    def _pieces(self, text: str, budget: int) -> list[tuple[int, int]]:
        """Sentence spans, with any sentence over `budget` tokens cut at token boundaries."""
        spans = split_sentences(text)
        counts = self.tok.count([text[s:e] for s, e in spans])
        pieces: list[tuple[int, int]] = []
        for (s, e), n in zip(spans, counts, strict=True):
            if n <= budget:
                pieces.append((s, e))
                continue
            ends = self.tok.token_ends(text[s:e])
            cut = s
            for i in range(budget - 1, len(ends), budget):
                pieces.append(strip_span(text, cut, s + ends[i]))
                cut = s + ends[i]
            if cut < e:
                pieces.append(strip_span(text, cut, e))
        return [p for p in pieces if p[1] > p[0]]

    def _group(self, counts: list[int], budget: int) -> list[tuple[int, int]]:
        """Greedy runs [i, j) of pieces whose token counts fit the budget, with overlap."""
        return _runs(len(counts), lambda i, j: sum(counts[i:j]) <= budget, self.config.overlap)

    def _group_exact(
        self, article: Article, title: str, pieces: list[tuple[int, int]], limit: int
    ) -> list[tuple[int, int]]:
        def fits(i: int, j: int) -> bool:
            quote = article.text[pieces[i][0] : pieces[j - 1][1]]
            return self.tok.count([titled(title, quote)])[0] <= limit

        return _runs(len(pieces), fits, self.config.overlap)

    def _make(
        self, article: Article, title: str, pieces: list[tuple[int, int]], group: tuple[int, int], n: int
    ) -> Embeddable:
        start, end = pieces[group[0]][0], pieces[group[1] - 1][1]
        quote = article.text[start:end]
        text = titled(title, quote)
        chunk = Chunk(
            chunk_id(article.id, start, end, quote), article.id, n, start, end, quote, embed_hash(self.model, text)
        )
        return Embeddable(chunk, text)


def _runs(n: int, fits: Callable[[int, int], bool], overlap: int) -> list[tuple[int, int]]:
    """Cover pieces 0..n with runs; each run starts `overlap` pieces before the last one ended
    (fewer when that would leave no room for a new piece), and holds at least one piece."""
    runs: list[tuple[int, int]] = []
    i = 0
    while i < n:
        j = i + 1
        while j < n and fits(i, j + 1):
            j += 1
        runs.append((i, j))
        if j >= n:
            break
        nxt = max(j - overlap, i + 1)
        while nxt < j and not fits(nxt, j + 1):
            nxt += 1
        i = nxt
    return runs
