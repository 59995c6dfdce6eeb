"""Stage times: what /search and /ask report of where a request's time went."""

from __future__ import annotations

import time

from qa.search.timing import StageTimes


def test_a_stage_that_runs_twice_is_summed_and_stages_keep_running_order() -> None:
    times = StageTimes()
    with times("answer"):
        time.sleep(0.002)
    for _ in range(2):
        with times("embed"):
            time.sleep(0.003)
    ms = times.ms()
    assert list(ms) == ["embed", "answer"]  # running order, not the order they were timed in
    assert ms["embed"] >= 6.0 and ms["answer"] >= 2.0


def test_a_stage_that_fails_still_counts_its_time() -> None:
    times = StageTimes()
    try:
        with times("dense"):
            time.sleep(0.002)
            raise ValueError("broken segment")
    except ValueError:
        pass
    assert times.ms()["dense"] >= 2.0
