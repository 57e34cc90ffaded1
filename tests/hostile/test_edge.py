"""The corpus's raw requests against a real `twinbridge serve` of the demo: what uvicorn and
the gateway's protocol see before any application code (URL and header limits, bytes and
framing no client library sends, dot segments), and forwarded headers from loopback, a
trusted proxy. After each one the server's sources are as well as before."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import httpx
import pytest

from tests.hostile.checks import check_answer, record, scraped
from tests.hostile.edge import RawCase, answer_of, cases, exchange
from tests.hostile.targets import params_of

pytestmark = pytest.mark.integration
CASES = list(cases())


@pytest.mark.parametrize("raw", params_of(CASES, lambda r: r.case))
def test_edge(live_demo: str, raw: RawCase) -> None:
    before = scraped(httpx.get(f"{live_demo}/metrics").text)
    data, client_ms = exchange(live_demo, raw.raw)
    answer = answer_of(data)
    record("edge", raw.case, answer)
    text = raw.raw[:100_000].decode("latin-1")
    sent = f"{text}\n{unquote(text)}\n{urlsplit(live_demo).netloc}"  # the address it called
    check_answer(raw.case, answer, sent=sent, client_ms=client_ms)
    assert scraped(httpx.get(f"{live_demo}/metrics").text) == before, raw.case.id
    ready = httpx.get(f"{live_demo}/ready").json()
    assert ready["status"] == "ready", (raw.case.id, ready)
