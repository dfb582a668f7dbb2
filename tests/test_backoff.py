"""backoff: the schedule after each kind of poll outcome, as a table of cases (fixtures/fetch)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from watcher.backoff import WEIGHTS, Schedule, after_failure, after_not_modified, after_success
from watcher.config import parse_interval
from watcher.model import Failure, FailureKind

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
CASES = yaml.safe_load((Path(__file__).parent / "fixtures/fetch/backoff_cases.yaml").read_text("utf-8"))
DAY = parse_interval("1d")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_after_failure_table(case: dict) -> None:
    failure = Failure(FailureKind(case["kind"]), "test", retry_after=case.get("retry_after"))
    got = after_failure(NOW, case["interval"], case.get("failures_before", 0), case.get("weight_before", 0.0),
                        failure, case.get("cap", DAY))
    want = case["expect"]
    assert got.next_check == pytest.approx(NOW + timedelta(seconds=want["next"]), abs=timedelta(seconds=0.01))
    if want["hold"] is None:
        assert got.hold_until is None
    else:
        assert got.hold_until == pytest.approx(NOW + timedelta(seconds=want["hold"]), abs=timedelta(seconds=0.01))
    assert got.consecutive_failures == want["failures"]
    assert got.failure_weight == pytest.approx(want["weight"])


def test_every_failure_kind_has_a_weight() -> None:
    # A new FailureKind without a weight would crash the scheduler on its first occurrence.
    assert set(WEIGHTS) == set(FailureKind)


@pytest.mark.parametrize("outcome", [after_success, after_not_modified])
def test_success_and_304_clear_the_backoff(outcome) -> None:
    state = Schedule(NOW, None, 0, 0.0)
    for _ in range(8):
        state = after_failure(NOW, 3600, state.consecutive_failures, state.failure_weight,
                              Failure(FailureKind.DNS, "x"), DAY)
    assert state.hold_until is not None  # it really was backed off
    fresh = outcome(NOW, 3600)
    assert fresh == Schedule(next_check=NOW + timedelta(hours=1), hold_until=None,
                             consecutive_failures=0, failure_weight=0.0)


@pytest.mark.parametrize("kind", list(FailureKind))
def test_a_failing_source_waits_longer_and_longer_until_the_cap(kind: FailureKind) -> None:
    state = Schedule(NOW, None, 0, 0.0)
    waits = []
    for _ in range(60):
        state = after_failure(NOW, 600, state.consecutive_failures, state.failure_weight,
                              Failure(kind, "x"), DAY)
        waits.append((state.next_check - NOW).total_seconds())
    assert waits == sorted(waits), "the wait never shrinks while failures continue"
    assert waits[-1] == DAY
    assert max(waits) == DAY


def test_heavy_failures_back_off_sooner_than_light_ones() -> None:
    def after(kind: FailureKind, n: int) -> float:
        state = Schedule(NOW, None, 0, 0.0)
        for _ in range(n):
            state = after_failure(NOW, 3600, state.consecutive_failures, state.failure_weight,
                                  Failure(kind, "x"), DAY)
        return (state.next_check - NOW).total_seconds()

    for n in (2, 3, 4):
        assert after(FailureKind.DNS, n) > after(FailureKind.TIMEOUT, n)
        assert after(FailureKind.HTTP_4XX, n) > after(FailureKind.HTTP_5XX, n)
