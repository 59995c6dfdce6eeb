"""Calibrate the topic-alert threshold (QA_ALERT_THRESHOLD) and the scorer's dense weight.

Two sets of followed topics are matched against every article of one index (the 2,225 BBC News
articles and the 47 versions of datasets/news_time's 12 invented stories) by the alerts' own scorer
(qa/search/topics.py `best_matches`: an article's best passage by `w * cosine + (1 - w) * coverage`
of the topic's terms), and "alert" is right when:
- broad: 15 topics written for the five BBC categories (3 each, e.g. "sport news"), and the
  article is in the topic's category (exact duplicates in the data counted once);
- named: 12 topics written for the invented stories ("Alderhaven dock strike"), and the article
  is a version of that story (every BBC article and every other story is a wrong alert).
It prints the best F1 of each set and weight, then precision / recall / F1 of both per threshold at
the chosen weight, and how many story versions would be dropped as copies of the version before.
The index is built once in --workdir and reused (seeded from bench/http.py's BBC index when that
exists, so only the stories are embedded).

    .venv/bin/python bench/calibrate_alerts.py [--workdir .qa-bench/alerts]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:1] = [str(REPO)]  # not bench/: bench/index.py would shadow the `index` package

from bench.serving import BBC
from index.manifest import MANIFEST, read_manifest
from qa.config import Settings
from qa.search.collapse import NEAR_DUPLICATE, copy_of
from qa.search.topics import ALERT_THRESHOLD, DENSE_WEIGHT, best_matches
from qa.service import QAService

STORIES = REPO / "datasets" / "news_time" / "stories.jsonl"
BROAD = {
    "business": [
        "business news",
        "business and the economy: companies, markets and trade",
        "company results, shares and the economy",
    ],
    "entertainment": [
        "entertainment news",
        "entertainment: films, music, television and celebrities",
        "cinema, pop music and TV shows",
    ],
    "politics": [
        "politics news",
        "UK politics: the government, parliament and elections",
        "politicians, political parties and ministers",
    ],
    "sport": [
        "sport news",
        "sport: football, rugby, tennis and athletics",
        "matches, players and championships",
    ],
    "tech": [
        "technology news",
        "technology: computers, the internet, mobile phones and games",
        "gadgets, software and online services",
    ],
}
NAMED = {
    "dock-strike": "Alderhaven dock strike",
    "norvale-ceo": "who runs Norvale Bank",
    "varrland-rates": "Bank of Varrland interest rate decisions",
    "fryer-recall": "Brightfold air fryer safety",
    "reddick-trial": "the Tomas Reddick fraud case",
    "abara-transfer": "Jonah Abara's transfer",
    "tarrow-count": "Tarrow Valley election result",
    "halden-bridge": "Halden Crossing bridge project",
    "storm-idris": "Storm Idris damage",
    "tessaro-brinwell": "Tessaro and Brinwell Dairy merger",
    "aurel-launch": "Aurel-2 moon mission",
    "ellesby-measles": "Ellesby measles outbreak",
}
# Topics about real subjects of the BBC articles: an article is about one when its title and text
# name it at least twice (the pattern), not about it when they never do; once is left unjudged.
SPECIFIC = {
    "the Academy Awards": r"\bOscars?\b",
    "the Yukos affair": r"\bYukos\b",
    "Apple's iPod": r"\biPods?\b",
    "Six Nations rugby": r"\bSix Nations\b",
    "the Australian Open tennis": r"\bAustralian Open\b",
    "government plans for identity cards": r"\bID cards?\b|\bidentity cards?\b",
    "interest rates": r"\binterest rates?\b",
    "games consoles": r"\bconsoles?\b",
    "mobile phones": r"\bmobile phones?\b|\bmobiles?\b",
    "junk email": r"\bspam\b|\bjunk e-?mail",
    "computer viruses and worms": r"\bvirus(es)?\b|\bworms?\b",
    "Chelsea football club": r"\bChelsea\b",
    "athletes failing drug tests": r"\bdoping\b|\bdrugs? tests?\b",
    "immigration and asylum": r"\bimmigra\w+|\basylum\b",
    "broadband internet": r"\bbroadband\b",
    "the WorldCom fraud trial": r"\bWorldCom\b|\bEbbers\b",
    "Airbus and Boeing planes": r"\bAirbus\b|\bBoeing\b",
    "Greek sprinters Kenteris and Thanou": r"\bKenteris\b|\bThanou\b",
    "Microsoft": r"\bMicrosoft\b",
    "Google": r"\bGoogle\b",
    "blogs and bloggers": r"\bblog\w*\b",
    "music piracy and file-sharing": r"\bfile-?sharing\b|\bpiracy\b|\bpeer-to-peer\b",
}
WEIGHTS = (1.0, 0.85, 0.7, 0.5)


def build(workdir: Path) -> QAService:
    """The index of the BBC articles and the stories, in workdir (only what changed is embedded)."""
    corpus, index_dir = workdir / "corpus", workdir / "index"
    corpus.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(BBC, corpus / "articles.jsonl")
    with STORIES.open(encoding="utf-8") as f, (corpus / "stories.jsonl").open("w", encoding="utf-8") as out:
        for line in f:
            s = json.loads(line)
            out.write(json.dumps({k: s[k] for k in ("id", "title", "text", "source")}, ensure_ascii=False) + "\n")
    settings = Settings(index_dir=index_dir, corpus_dir=corpus, max_article_bytes=1 << 30, _env_file=None)
    service = QAService(settings)  # QA_MODEL applies: calibrate another model in another --workdir
    seed = REPO / ".qa-bench" / "bbc" / "index"
    if not index_dir.exists() and (seed / MANIFEST).is_file() and read_manifest(seed).model == service.embedder.name:
        shutil.copytree(seed, index_dir, ignore=shutil.ignore_patterns("write.lock"))
    t0 = time.perf_counter()
    result = service.reindex()
    print(f"index ready in {time.perf_counter() - t0:.1f} s ({result.chunks_embedded} chunks embedded)")
    return service


def bbc_articles() -> dict[str, tuple[str, str]]:
    """BBC article id -> (category, title and text), one id per distinct text."""
    seen: set[str] = set()
    wanted: dict[str, tuple[str, str]] = {}
    with BBC.open(encoding="utf-8") as f:
        for line in f:
            a = json.loads(line)
            digest = hashlib.sha256(a["text"].encode()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                wanted[a["_id"]] = (a["category"], f"{a['title']}\n{a['text']}")
    return wanted


Judged = tuple[list[str], np.ndarray, np.ndarray]  # topics, right alerts, judged (topics x articles)


def topic_sets(bbc: dict[str, tuple[str, str]], stories: dict[str, str]) -> dict[str, Judged]:
    articles = [*bbc, *stories]
    everything = np.ones((1, len(articles)), dtype=bool)
    broad = [(t, c) for c, ts in BROAD.items() for t in ts]
    mentions = np.array(
        [[len(re.findall(rx, bbc[a][1])) if a in bbc else 0 for a in articles] for rx in SPECIFIC.values()]
    )
    return {
        "broad": (
            [t for t, _ in broad],
            np.array([[a in bbc and bbc[a][0] == c for a in articles] for _, c in broad]),
            everything.repeat(len(broad), 0),
        ),
        "specific": (list(SPECIFIC), mentions >= 2, mentions != 1),
        "named": (
            list(NAMED.values()),
            np.array([[stories.get(a) == s for a in articles] for s in NAMED]),
            everything.repeat(len(NAMED), 0),
        ),
    }


def story_of() -> dict[str, str]:
    with STORIES.open(encoding="utf-8") as f:
        return {s["id"]: s["story"] for s in map(json.loads, f)}


def scores(service: QAService, topics: list[str], articles: list[str], weight: float) -> np.ndarray:
    """topics x articles: each article's best-passage score for each topic."""
    queries = [service.query(t) for t in topics]
    position = {aid: j for j, aid in enumerate(articles)}
    out = np.full((len(topics), len(articles)), -np.inf)
    for m in best_matches(service.snapshot(), queries, articles, threshold=-np.inf, dense_weight=weight):
        out[m.topic, position[m.hit.row.article_id]] = m.hit.score
    return out


def prf(alerted: np.ndarray, truth: np.ndarray, judged: np.ndarray) -> tuple[float, float, float]:
    alerted, truth = alerted & judged, truth & judged
    tp = float((alerted & truth).sum())
    p = tp / max(float(alerted.sum()), 1.0)
    r = tp / max(float(truth.sum()), 1.0)
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def best_f1(best: np.ndarray, truth: np.ndarray, judged: np.ndarray) -> tuple[float, float, float, float]:
    """(F1, threshold, precision, recall) at the best threshold of a 0.005 grid."""
    found = [(float(t), *prf(best >= t, truth, judged)) for t in np.arange(0.2, 1.0, 0.005)]
    t, p, r, f1 = max(found, key=lambda x: x[3])
    return f1, t, p, r


def copies(service: QAService, stories: dict[str, str]) -> tuple[int, int]:
    """(later story versions, those an alert would drop as a copy of an earlier version): each
    version's best passage for its story's topic against those of the versions before it."""
    snap = service.snapshot()
    later = dropped = 0
    for story, topic in NAMED.items():
        ids = sorted(aid for aid, s in stories.items() if s == story)
        found = {m.hit.row.article_id: m.hit for m in best_matches(snap, [service.query(topic)], ids, -np.inf)}
        quotes: list[str] = []
        vectors: list[np.ndarray | None] = []
        for aid in ids:
            h = found[aid]
            if quotes:
                later += 1
                dropped += copy_of(h.row.text, h.vector, quotes, vectors) is not None
            quotes.append(h.row.text)
            vectors.append(h.vector)
    return later, dropped


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workdir", type=Path, default=REPO / ".qa-bench" / "alerts")
    args = p.parse_args()
    if not BBC.is_file():
        print(f"BBC data not found at {BBC}: nothing to measure")
        return 2
    service = build(args.workdir)
    bbc, stories = bbc_articles(), story_of()
    articles = [*bbc, *stories]
    sets = topic_sets(bbc, stories)
    print(f"{len(articles)} articles ({len(bbc)} BBC, {len(stories)} story versions); {service.embedder.name}")
    for name, (topics, truth, judged) in sets.items():
        print(f"  {name}: {len(topics)} topics, {int(truth.sum())} right alerts, {int((~judged).sum())} unjudged")
    print(f"\n{'weight':>7}  {'set':<9}{'best F1':>8}{'at':>7}{'P':>7}{'R':>7}")
    chosen: dict[str, np.ndarray] = {}
    for w in WEIGHTS:
        for name, (topics, truth, judged) in sets.items():
            best = scores(service, topics, articles, w)
            f1, t, pr, rc = best_f1(best, truth, judged)
            print(f"{w:>7.2f}  {name:<9}{f1:>8.3f}{t:>7.3f}{pr:>7.3f}{rc:>7.3f}")
            if w == DENSE_WEIGHT:
                chosen[name] = best
    print(f"\nat dense weight {DENSE_WEIGHT}, precision / recall / F1 of each set:")
    print(f"{'threshold':>10}" + "".join(f"  {name:>9}{'':>14}" for name in sets))
    for t in np.round(np.arange(0.50, 0.701, 0.01), 3):
        cells = [prf(chosen[name] >= t, truth, judged) for name, (_, truth, judged) in sets.items()]
        mark = "  <- default" if abs(t - ALERT_THRESHOLD) < 1e-9 else ""
        print(f"{t:>10.3f}" + "".join(f"  {p_:>9.3f}{r_:>7.3f}{f_:>7.3f}" for p_, r_, f_ in cells) + mark)
    later, dropped = copies(service, stories)
    print(f"\nstory updates dropped as copies of an earlier version (cosine >= {NEAR_DUPLICATE}): {dropped} of {later}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
