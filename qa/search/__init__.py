"""The read core. A question is parsed once into a `Query` (query.py) that flows one way:

    snapshot.py  the loaded commit: segments (segment.py) and their live rows
    candidates   dense (dense.py, ann.py) and BM25 (bm25.py) top lists, each candidate scored by both
    fusion.py    one ranked list
    rerank.py    sentence match; a cross-encoder when configured
    collapse.py  one passage per span, quote and story
    answer.py    the extractive answer from the cited passages

`pipeline.py` runs the stages in that order; `qa.service` turns hits into citations.
"""
