"""Input a store rejects as invalid data is the client's error: a 400, never a 500 or 502.
The facade refuses what it can foresee (NUL characters, literals beyond range); the stores
map their own refusals (PostgreSQL: SQLSTATE classes 22 and 54; SQLite: values it cannot
bind, statements beyond its limits) to a 400 as the backstop, without their messages."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from gateway.errors import InvalidParameter
from gateway.sensorthings.errors import InvalidBody
from gateway.sensorthings.odata.expr import parse_filter
from gateway.sensorthings.odata.options import parse_options
from gateway.sensorthings.store import open_store
from gateway.sensorthings.store.plan import Plan, Stmt
from tests.conftest import missing_service
from tests.sensorthings.conftest import PG_DSN, STA, postgres_available


def one(sql: str, *params: Any) -> Plan[Any]:
    rows = yield Stmt(sql, list(params))
    return rows


def run_on(kind: str, tmp_path: Path, plan: Any, readonly: bool) -> Any:
    if kind == "postgres" and not postgres_available():
        missing_service("PostgreSQL is not listening on 127.0.0.1:5432")
    schema = f"sta_test_{uuid.uuid4().hex[:12]}"
    store = open_store(kind, path=tmp_path / "s.sqlite", dsn=PG_DSN, schema=schema)

    async def go() -> Any:
        await store.open()
        try:
            return await (store.read(plan) if readonly else store.write(plan))
        finally:
            if kind == "postgres":
                await store.drop()  # type: ignore[attr-defined]
            await store.close()

    return asyncio.run(go())


PG_DATA_ERRORS = [
    ("SELECT $1::text", "a\x00b"),  # 22021 invalid byte sequence
    ("SELECT $1::jsonb", '{"a": "\\u0000"}'),  # 22P05 untranslatable character
    ("SELECT $1::bigint", 2**63),  # out of int64 range, refused while binding
    ("SELECT CAST($1::bigint AS integer)", 2**40),  # 22003 numeric value out of range
]


@pytest.mark.parametrize(("sql", "value"), PG_DATA_ERRORS)
@pytest.mark.parametrize("readonly", [True, False])
def test_postgres_data_exceptions_are_400s(tmp_path: Path, sql: str, value: Any, readonly: bool):
    with pytest.raises(InvalidParameter) as info:
        run_on("postgres", tmp_path, one(sql, value), readonly)
    error = info.value
    assert error.status == 400
    assert isinstance(error, InvalidBody) != readonly
    assert "not valid for this store" in error.description
    assert "UTF8" not in error.description and "range" not in error.description  # no internals


def test_postgres_refuses_too_many_values_before_sending_them(tmp_path: Path):
    marks = ", ".join(f"${i}::int" for i in range(1, 40001))
    plan = one(f"SELECT 1 WHERE 1 IN ({marks})", *range(40000))
    with pytest.raises(InvalidParameter, match="too complex for this store"):
        run_on("postgres", tmp_path, plan, True)


@pytest.mark.parametrize(
    ("sql", "value"),
    [
        ("SELECT ?1", 2**64),  # OverflowError while binding
        ("SELECT " + "(" * 500 + "1" + ")" * 500, None),  # parser stack overflow
        ("SELECT " + " OR ".join(["1"] * 1200), None),  # expression tree too large
    ],
)
def test_sqlite_refusals_are_400s(tmp_path: Path, sql: str, value: Any):
    plan = one(sql, value) if value is not None else one(sql)
    with pytest.raises(InvalidParameter) as info:
        run_on("sqlite", tmp_path, plan, True)
    assert info.value.status == 400


def test_sqlite_failures_of_its_own_stay_errors(tmp_path: Path):
    """Only refusals of what the client sent become 400s; a broken store stays a 500."""
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        run_on("sqlite", tmp_path, one("SELECT * FROM nowhere"), True)


@pytest.fixture(scope="module")
def ets_client(ets: tuple[TestClient, dict]) -> TestClient:
    return ets[0]


@pytest.mark.parametrize(
    ("entities", "text"),
    [
        ("Things", "substring(name, 99999999999999) eq 'x'"),  # CAST to INTEGER out of range
        ("Observations", "phenomenonTime add duration'P99999999W' gt now()"),  # beyond BIGINT
        ("Observations", "result eq 1e308 mul 1e308"),  # float overflow
        ("Observations", "id eq 9223372036854775807 add 1"),  # BIGINT overflow
    ],
)
def test_filters_the_store_cannot_evaluate_are_400s_not_500s(
    ets_client: TestClient, entities: str, text: str
):
    response = ets_client.get(f"{STA}/{entities}", params={"$filter": text})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.json() == {
            "type": "error",
            "code": 400,
            "message": "query: a value in the request is not valid for this store",
            "requestId": response.headers["x-request-id"],
        }


@pytest.mark.parametrize(
    "text",
    [
        "phenomenonTime lt duration'P9999999999D'",  # beyond what a timedelta holds
        "phenomenonTime lt 9999-12-31T23:59:59-14:00",  # beyond year 9999 in UTC
        "name eq 'a\x00'",
        "properties/reference eq 1e999",  # no double holds it
        "id eq " + "9" * 5000,  # beyond the digits int() reads (was a 500)
        "id eq \uff11",  # a fullwidth digit is no number here
        "name eq 'x'\u2028",  # nor is a line separator whitespace
    ],
)
def test_literals_beyond_range_are_refused_by_the_parser(text: str):
    with pytest.raises(InvalidParameter):
        parse_filter(text)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=60))
def test_any_text_is_a_tree_or_a_400(text: str):
    for option in ("$filter", "$orderby", "$expand", "$select", "$top", "$skiptoken"):
        with suppress(InvalidParameter):
            parse_options([(option, text)])
