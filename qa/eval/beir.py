"""Read a BEIR-layout folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.fsutil import read_jsonl


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class Query:
    id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BeirDataset:
    name: str
    documents: dict[str, Document]
    queries: dict[str, Query]  # only those with judgements in the split
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: relevance}


def load_beir(folder: Path, split: str = "test") -> BeirDataset:
    folder = Path(folder)
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    documents = {}
    for obj in read_jsonl(folder / "corpus.jsonl"):
        documents[str(obj["_id"])] = Document(str(obj["_id"]), obj.get("title") or "", obj.get("text") or "")
    queries = {}
    for obj in read_jsonl(folder / "queries.jsonl"):
        qid = str(obj["_id"])
        if qid in qrels:
            queries[qid] = Query(qid, obj["text"], obj.get("metadata") or {})
    name = folder.parent.name if folder.name == "beir" else folder.name
    return BeirDataset(name, documents, queries, qrels)
