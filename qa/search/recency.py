"""The "latest" stage: for a question about the current state, the newest of the passages that
answer about equally well comes first (a news corpus holds several dated versions of one story
in near-identical words, and relevance alone cannot tell them apart).

"About equally well": among the top `depth` passages, those scoring within `tolerance` of the
best, as a share of the spread between the best and the `depth`-th. Undated passages keep their
place after the dated ones of that group; everything else keeps its order.
"""

from __future__ import annotations

from dataclasses import dataclass

from qa.search.hits import Hit


@dataclass(frozen=True)
class PreferNewest:
    depth: int = 10
    tolerance: float = 0.5

    def rerank(self, hits: list[Hit]) -> list[Hit]:
        top = hits[: self.depth]
        if len(top) < 2:
            return hits
        best, floor = top[0].score, top[-1].score
        cut = best - self.tolerance * (best - floor)
        contest = [h for h in top if h.score >= cut]
        rest = [h for h in top if h.score < cut]
        contest.sort(key=lambda h: h.article.published or "", reverse=True)  # stable: ties keep their rank
        return contest + rest + hits[self.depth :]
