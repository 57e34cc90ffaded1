"""Sliding-window arithmetic, the in-process counters and the rate syntax."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.config import GatewayConfig
from gateway.ratelimit.settings import Rate
from gateway.ratelimit.windows import LocalWindows, estimate, retry_after, verdict


def test_the_previous_window_weighs_by_the_part_still_inside_the_sliding_window() -> None:
    assert estimate(prev=10, cur=0, elapsed=0, window=60) == 10
    assert estimate(prev=10, cur=2, elapsed=30, window=60) == 7
    assert estimate(prev=10, cur=2, elapsed=60, window=60) == 2


def test_a_burst_at_a_window_boundary_cannot_double_the_limit() -> None:
    windows = LocalWindows()
    limits = [("c", 10, 60.0)]
    assert all(windows.hit(limits, 59.0 + i / 100).allowed for i in range(10))
    refused = windows.hit(limits, 60.5)  # a fixed window would allow 10 more here
    assert not refused.allowed and refused.retry_after >= 1


def test_retry_after_says_when_the_next_request_fits() -> None:
    # full within this window: the next window, once its share of this one slid out
    wait = retry_after(limit=10, window=60, elapsed=30, prev=0, cur=10)
    assert wait == pytest.approx(30 + 60 - 9 * 60 / 10)
    assert estimate(10, 0, 60 - 9 * 60 / 10, 60) + 1 == pytest.approx(10)
    # room in this window, the previous one still weighing: as it slides out
    wait = retry_after(limit=10, window=60, elapsed=0, prev=10, cur=0)
    assert estimate(10, 0, wait, 60) + 1 == pytest.approx(10)
    assert verdict(10, 60, 59.9, prev=0, cur=10).retry_after == 7  # never 0, whole seconds


def test_a_refused_request_is_not_counted_and_a_later_limit_is_not_charged() -> None:
    windows = LocalWindows()
    limits = [("client", 2, 60.0), ("tenant", 100, 60.0)]
    assert windows.hit(limits, 0).allowed and windows.hit(limits, 1).allowed
    for t in range(2, 20):
        refused = windows.hit(limits, t)
        assert not refused.allowed and refused.which == 0
    # the tenant's counter holds the two allowed requests only
    assert windows.hit([("tenant", 3, 60.0)], 21).allowed
    assert not windows.hit([("tenant", 3, 60.0)], 22).allowed


def test_counters_of_past_windows_are_forgotten_when_there_are_too_many() -> None:
    windows = LocalWindows(max_counters=10)
    for i in range(10):
        windows.hit([(f"ip:{i}", 5, 1.0)], 0.5)
    windows.hit([("ip:new", 5, 1.0)], 100.0)
    assert len(windows) == 1


@pytest.mark.parametrize(
    ("text", "limit", "window"),
    [
        ("600/minute", 600, 60),
        ("20/second", 20, 1),
        ("100/10minutes", 100, 600),
        ("5 / day", 5, 86400),
    ],
)
def test_rates_are_requests_per_period(text: str, limit: int, window: float) -> None:
    assert Rate.parse(text) == Rate(limit, window)


@pytest.mark.parametrize("text", ["600", "0/minute", "10/fortnight", "-1/second", "ten/minute"])
def test_a_bad_rate_is_refused_with_an_example(text: str) -> None:
    with pytest.raises(ValidationError, match="600/minute|must be ≥ 1"):
        GatewayConfig.model_validate({"server": {"rate_limits": {"per_client": text}}})


def test_redis_url_needs_a_redis_scheme_and_empty_means_in_process() -> None:
    with pytest.raises(ValidationError, match="redis://"):
        GatewayConfig.model_validate({"server": {"shared_state": {"redis_url": "http://x"}}})
    empty = GatewayConfig.model_validate({"server": {"shared_state": {"redis_url": ""}}})
    assert empty.server.shared_state.redis_url is None
    assert "secret" not in repr(
        GatewayConfig.model_validate(
            {"server": {"shared_state": {"redis_url": "redis://:secret@h:6379"}}}
        ).server.shared_state
    )
