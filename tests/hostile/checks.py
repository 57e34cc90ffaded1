"""What every answer of the corpus must show, and the watch on the sources around it.

- the status class the case expects (never a 5xx), a 4xx in its facade's error shape with
  the request id of the X-Request-Id header (and Allow on a 405);
- no internals: driver, library and exception class names, SQL the client did not send,
  database messages, hosts and ports, database and schema names, file paths, tracebacks;
- HTML that escapes whatever it echoes;
- at most 1 s as the gateway measured it (Server-Timing);
- no source's breaker counting a failure, no failed or timed-out call in the metrics, and
  /ready saying `ready`, after every single case.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_plus

from gateway import metrics
from tests.hostile.asgi import Answer
from tests.hostile.corpus import Case

SLOWEST_MS = 1000.0
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
TIMING = re.compile(r"app;dur=([0-9.]+)")
BAD_OUTCOMES = ("failed", "timeout")

# Internals, each as a pattern; a match the client sent itself (its own SQL text, the Host
# it named) is not a leak.
LEAKS = [
    re.compile(p, flags)
    for p, flags in [
        (r"Traceback \(most recent call last\)", 0),
        (r'File "[^"]+", line \d+', 0),
        (r"\b[A-Z][A-Za-z]*(?:Error|Exception|Warning)\b", 0),
        (
            r"\b(?:asyncpg|psycopg2?|sqlite3|aiosqlite|pyproj|shapely|orjson|pydantic|starlette"
            r"|uvicorn|jinja2|httpx|httpcore|pest|cql2::)\b",
            re.IGNORECASE,
        ),
        (r"\bSQLSTATE\b|\bpg_catalog\b|\bLINE \d+:|\bHINT:|\bDETAIL:|\bCONTEXT:", 0),
        (
            r"syntax error at or near|does not exist|operator does not exist|invalid input syntax"
            r"|violates|duplicate key|no such (?:table|column|function)|unrecognized token",
            0,
        ),
        (r"\b(?:SELECT|FROM|WHERE|ORDER BY|OFFSET|ILIKE|COLLATE|NULLIF|COALESCE|CAST)\b", 0),
        (r"\bST_[A-Z][A-Za-z]+\(|::(?:text|jsonb?|bigint|int[248]?|float8|numeric|geometry)\b", 0),
        (r"\bPostgre(?:SQL|s)\b|\bSQLite\b|\bPostGIS\b", 0),
        (r"(?:127\.0\.0\.1|localhost|0\.0\.0\.0|\[::1\])(?::\d+)?", 0),
        (r":(?:5432|6379|1883)\b", 0),
        (r"postgres(?:ql)?://|\bdsn\b|password\s*[=:]", re.IGNORECASE),
        (r"\b(?:twinbridge_test|sta_test)_\w+", 0),
        (r"/tmp/|/work/|/home/|/usr/|/opt/|site-packages|\.venv|/proc/|[A-Za-z]:\\", 0),
        (r"\w\.(?:py|pyc|sqlite|gpkg|geojson|csv|yaml|yml)\b", 0),
    ]
]

# An HTML page that echoes markup unescaped shows one of these (each payload carries `hx`).
MARKUP = re.compile(
    r"<script>hx|<img src=x onerror=hx|<svg onload=hx|<b>hx</b>|<!--hx-->|<iframe src=//evil"
    r"|\" onmouseover=\"hx|href=\"javascript:",
    re.IGNORECASE,
)


def sent_text(case: Case) -> str:
    """Everything the client sent, as the server may have decoded it (for the leak check)."""
    target = case.target
    head = " ".join(f"{k}: {v}" for k, v in case.headers)
    body = case.body.decode("utf-8", "replace")
    decoded = [target, unquote(target, errors="replace"), unquote_plus(target, errors="replace")]
    # JSON-escaped forms of what was sent (an echo inside a JSON string)
    echoes = [json.dumps(unquote_plus(target, errors="replace"))]
    return "\n".join(
        [*decoded, *echoes, head, body, body.encode().decode("unicode_escape", "replace")]
    )


def leaks(text: str, sent: str, secrets: Iterable[str] = ()) -> list[str]:
    found = [s for s in secrets if s and s in text]
    lowered = sent.lower()
    for pattern in LEAKS:
        for match in pattern.finditer(text):
            if match.group(0).lower() not in lowered:
                found.append(match.group(0))
    return found


def server_ms(answer: Answer) -> float | None:
    timing = TIMING.search(answer.headers.get("server-timing", ""))
    return float(timing.group(1)) if timing else None


def check_answer(
    case: Case,
    answer: Answer,
    secrets: Iterable[str] = (),
    sent: str = "",
    client_ms: float | None = None,
) -> None:
    """`sent`: more of what the client sent (a raw request); `client_ms`: the time to the
    answer as the client saw it, for a head refused before the app (no Server-Timing)."""
    status, text = answer.status, answer.text
    where = f"{case.id} -> {status} {text[:300]!r}"
    assert status < 500, where
    if case.expect == "2xx":
        answered = 200 <= status < 300 or (status == 304 and case.not_modified)
        assert answered, f"expected 2xx ({case.why}): {where}"
    else:
        assert 400 <= status < 500, f"expected 4xx: {where}"
    if case.status is not None:
        assert status == case.status, f"expected {case.status}: {where}"
    request_id = answer.headers.get("x-request-id", "")
    assert REQUEST_ID.match(request_id), f"{case.id}: request id {request_id[:80]!r}"
    ms = server_ms(answer)
    if ms is None:  # a head refused by the protocol, before the app could time it
        assert status in (400, 414, 431) and client_ms is not None, f"{case.id}: no Server-Timing"
        assert client_ms <= SLOWEST_MS, f"{case.id}: {client_ms:.0f} ms to the refusal"
    else:
        assert ms <= SLOWEST_MS, f"{case.id}: {ms:.0f} ms as the gateway measured it"
    everything = sent_text(case) + "\n" + sent
    found = leaks(text, everything, secrets)
    header_text = "\n".join(f"{k}: {v}" for k, v in answer.headers.items())
    found += leaks(header_text, everything, secrets)
    assert not found, f"{case.id}: internals in the answer: {found[:5]} in {text[:500]!r}"
    for absent in case.absent:
        assert absent.lower() not in (text + header_text).lower(), (
            f"{case.id}: {absent!r} in answer"
        )
    ctype = answer.headers.get("content-type", "")
    if "html" in ctype:
        markup = MARKUP.search(text)
        assert markup is None, f"{case.id}: unescaped markup {markup.group(0)!r}"
    if 400 <= status < 500 and case.method != "HEAD":
        check_error_shape(case, answer, request_id)
    if status < 300 and case.empty and "json" in ctype:
        doc = answer_json(answer)
        rows = doc.get("features", doc.get("value")) if isinstance(doc, dict) else None
        assert rows == [], f"{case.id}: expected nothing selected, got {str(rows)[:300]}"


def answer_json(answer: Answer) -> Any:
    return json.loads(answer.body)


def check_error_shape(case: Case, answer: Answer, request_id: str) -> None:
    ctype = answer.headers.get("content-type", "")
    if answer.status == 405:
        assert answer.headers.get("allow"), f"{case.id}: a 405 without Allow"
    if case.facade == "ogc" and "text/html" in ctype:
        assert f"HTTP {answer.status}" in answer.text, f"{case.id}: HTML error page"
        return
    assert "json" in ctype, f"{case.id}: error as {ctype!r}: {answer.text[:200]!r}"
    doc = answer_json(answer)
    if case.facade == "sta":
        assert doc.get("type") == "error" and doc.get("code") == answer.status, (case.id, doc)
        assert isinstance(doc.get("message"), str) and doc["message"], (case.id, doc)
    else:
        assert isinstance(doc.get("code"), str) and doc["code"], (case.id, doc)
        assert isinstance(doc.get("description"), str) and doc["description"], (case.id, doc)
    assert doc.get("requestId") == request_id, (case.id, doc)


@dataclass
class Watch:
    """The sources of one gateway: their breakers and what the metrics say about them."""

    guards: Callable[[], dict[str, Any]]  # source name -> SourceGuard
    metrics: Callable[[], str]  # the /metrics text
    baseline: dict[tuple[str, str], float] = field(default_factory=dict)

    def start(self) -> None:
        self.baseline = self.bad_calls()

    def bad_calls(self) -> dict[tuple[str, str], float]:
        """Failed and timed-out calls of our sources, as the counter behind /metrics holds
        them (read directly: a scrape per case would cost more than the case)."""
        names = set(self.guards())
        counts = {}
        for metric in metrics.SOURCE_CALLS.collect():
            for sample in metric.samples:
                source, outcome = sample.labels["source"], sample.labels["outcome"]
                if sample.name.endswith("_total") and source in names and outcome in BAD_OUTCOMES:
                    counts[source, outcome] = sample.value
        return counts

    def check(self, case_id: str, ready: dict[str, Any]) -> None:
        """After one case: every breaker at zero, no bad call counted, /ready (its document
        given) ready. What one case did is forgiven before the assertion, so it fails alone."""
        problems = []
        for name, guard in self.guards().items():
            breaker = guard.breaker
            if breaker.open or breaker._failures:
                problems.append(f"the breaker of {name} counted {breaker._failures} failures")
                breaker.succeeded()
        now = self.bad_calls()
        grown = {
            k: v - self.baseline.get(k, 0.0)
            for k, v in now.items()
            if v != self.baseline.get(k, 0.0)
        }
        self.baseline = now
        if grown:
            problems.append(f"failed/timed-out calls in the metrics: {grown}")
        if ready["status"] != "ready":
            problems.append(f"/ready says {ready}")
        assert not problems, f"{case_id}: {'; '.join(problems)}"

    def check_scrape(self, baseline_text: str) -> None:
        """The /metrics text itself: no failed or timeout outcome grew for our sources."""
        before, after = scraped(baseline_text), scraped(self.metrics())
        names = set(self.guards())
        grown = {k: v for k, v in after.items() if k[0] in names and v != before.get(k, 0.0)}
        assert not grown, f"/metrics: {grown}"


SAMPLE = re.compile(
    r'^twinbridge_source_calls_total\{(?=[^}]*outcome="(failed|timeout)")[^}]*source="([^"]+)"[^}]*\}\s+([0-9.e+]+)$',
    re.MULTILINE,
)


def scraped(text: str) -> dict[tuple[str, str], float]:
    return {(m.group(2), m.group(1)): float(m.group(3)) for m in SAMPLE.finditer(text)}


def record(target: str, case: Case, answer: Answer) -> None:
    """One line per case into $TWINBRIDGE_HOSTILE_LOG when set (for the figures of a run)."""
    path = os.environ.get("TWINBRIDGE_HOSTILE_LOG")
    if not path:
        return
    line = {
        "target": target,
        "category": case.category,
        "case": case.id,
        "status": answer.status,
        "ms": server_ms(answer),
    }
    with Path(path).open("a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")
