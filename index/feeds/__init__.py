"""Articles that arrive by themselves: RSS 2.0, Atom and JSON Feed feeds, and single URLs.

The feeds file (`config.py`) says what to poll; `fetch.py` fetches like a good citizen
(conditional GET, time-outs, a size limit, few redirects, few requests in flight) through the
address guard of `guard.py`; `parse.py` reads the documents; `articles.py` writes each entry into
the corpus folder (`_feeds/<feed>/…`, `_fetched/…`), which stays the one source of truth; `poll.py`
runs a round over the feeds and keeps what it learnt in `state.py`'s state file. Indexing is the
ordinary reconcile of the writer, done by the caller.
"""
