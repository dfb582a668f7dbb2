"""Decide when a source is polled next, after a poll succeeded, found nothing new, or failed.

Pure functions: no I/O and no clock; `now` comes in, a `Schedule` goes out. The scheduler adds jitter
on top, so the same inputs always give the same schedule here (which keeps the tests exact).

How a failing source backs off
------------------------------
Every failure adds a *weight* to the source's running `failure_weight` (reset by any success or 304).
The source is then held for

    delay = interval * 2 ** (weight - 1), at most `cap` (FetchSettings.backoff_cap)

so one light failure (weight 0.5) holds it for 0.71 intervals, one heavy failure (weight 1) for one
interval, and each further unit of weight doubles the hold. `hold_until = now + delay`: not even a
plain manual `poll` tries the source before then (`--force` does), so a user re-running poll does not
hammer a broken server. `next_check` is the later of `now + interval` and `hold_until`.

Weights, after Media Cloud's rss-fetcher (hard failures count 1, soft ones 1/2), but with our own
split of what is hard: a failure that only a human can fix weighs more than one that usually fixes
itself within hours.

    kind                 weight  why
    -------------------  ------  ---------------------------------------------------------------
    dns                  1.0     the host name does not resolve: a typo or a dead domain
    http_4xx             1.0     404/403: the URL is wrong or we are blocked; retrying won't help
    tls                  1.0     certificate or handshake problem: needs the site owner or a human
    bad_url              1.0     not http(s), or redirected to a non-http place: configuration
    too_many_redirects   1.0     a redirect loop is a site misconfiguration, rarely fixed quickly
    too_large            1.0     the document will not shrink by itself
    not_a_feed           1.0     an HTML page or empty body where a feed should be: wrong URL
    gone                 1.0     410: the pipeline disables the source; held for the whole cap
    connect              0.5     refused/unreachable: servers restart; usually back within hours
    timeout              0.5     slow or overloaded server: transient by nature
    http_5xx             0.5     server error: transient by nature
    protocol             0.5     a broken response (cut-off body, reset): often a flaky proxy
    parse_error          0.5     feeds get truncated mid-write and repaired on the next publish
    rate_limited         0.5     429 / 503 without Retry-After; with Retry-After, see below
    internal             0.5     a bug or a crashed parser process while handling this source: the
                                 source's failure, not the poll's; retried like a transient fault

Rate limits: when the server said Retry-After, `hold_until` is exactly that far ahead (bounded by the
cap, because the cap is the longest any source waits) and no doubling is applied: the server has told
us when to come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .model import Failure, FailureKind

WEIGHTS: dict[FailureKind, float] = {
    FailureKind.DNS: 1.0,
    FailureKind.HTTP_4XX: 1.0,
    FailureKind.TLS: 1.0,
    FailureKind.BAD_URL: 1.0,
    FailureKind.TOO_MANY_REDIRECTS: 1.0,
    FailureKind.TOO_LARGE: 1.0,
    FailureKind.NOT_A_FEED: 1.0,
    FailureKind.GONE: 1.0,
    FailureKind.CONNECT: 0.5,
    FailureKind.TIMEOUT: 0.5,
    FailureKind.HTTP_5XX: 0.5,
    FailureKind.PROTOCOL: 0.5,
    FailureKind.PARSE_ERROR: 0.5,
    FailureKind.RATE_LIMITED: 0.5,
    FailureKind.INTERNAL: 0.5,
}

# 2**60 intervals is far past any cap; stops float overflow for a source that failed for years.
_MAX_EXPONENT = 60.0


@dataclass(frozen=True)
class Schedule:
    next_check: datetime  # when the scheduler polls the source again
    hold_until: datetime | None  # no poll before this unless forced; None after a success
    consecutive_failures: int
    failure_weight: float


def after_success(now: datetime, interval_s: int) -> Schedule:
    """A good poll clears the backoff: back to the normal interval."""
    return Schedule(next_check=now + timedelta(seconds=interval_s), hold_until=None,
                    consecutive_failures=0, failure_weight=0.0)


def after_not_modified(now: datetime, interval_s: int) -> Schedule:
    """A 304 proves the server is healthy, so it counts as a success."""
    return after_success(now, interval_s)


def backoff_delay(interval_s: int, weight: float, cap_s: int) -> float:
    """Seconds to hold a source with this accumulated failure weight."""
    return min(float(cap_s), interval_s * 2.0 ** min(weight - 1.0, _MAX_EXPONENT))


def after_failure(now: datetime, interval_s: int, failures_before: int, weight_before: float,
                  failure: Failure, cap_s: int) -> Schedule:
    """The schedule after a failed poll; see the module docstring for the weights and the formula."""
    weight = weight_before + WEIGHTS[failure.kind]
    normal = now + timedelta(seconds=interval_s)
    if failure.kind is FailureKind.RATE_LIMITED and failure.retry_after is not None:
        hold = now + timedelta(seconds=max(0.0, min(float(failure.retry_after), float(cap_s))))
    elif failure.kind is FailureKind.GONE:
        hold = now + timedelta(seconds=cap_s)
    else:
        hold = now + timedelta(seconds=backoff_delay(interval_s, weight, cap_s))
    return Schedule(next_check=max(normal, hold), hold_until=hold,
                    consecutive_failures=failures_before + 1, failure_weight=weight)
