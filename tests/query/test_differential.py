"""Differential tests: random filters over typed features with nulls, dates, instants and
unicode strings, evaluated by the reference evaluator and by SQLite (in memory) and
PostGIS through connectors/sqlfilter.py. Each filter is also checked negated, so true,
false and unknown must all agree, not just the selected set.
"""

from __future__ import annotations

import math
import random
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import shapely
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from connectors.filters import GEOMETRY, TEMPORAL, Call, Expr, Literal, Property, TimeInterval
from connectors.sqlfilter import compile_sql
from gateway.query.evaluate import compile_predicate
from tests.query.conftest import PG

TYPES = {"i": "integer", "x": "number", "s": "string", "b": "boolean"}
TYPES |= {"d": "date", "t": "datetime", "e": "datetime"}
STRINGS = ["", "a", "A", "ab", "ba", "Ab", "ä", "Ä", "ae", "ß", "ss", "SS", "straße"]
STRINGS += ["Straße", "STRASSE", "e\u0301", "é", "%", "_", "\\", "a%b", "a_b", "a\\b"]
STRINGS += ["Zürich", "zurich", "München", "Köln", "x y", "ÿ", "Ωμέγα", "a\nb"]
INTS = [-3, -1, 0, 1, 2, 7, 10, 2**40, 2**53, 2**53 + 1, 2**63 - 1, -(2**63)]
FLOATS = [-2.5, -0.0, 0.1, 0.5, 1.0, 2.0, 3.25, 1e10, 1e-7, 2.0**53, 2.0**53 + 2, 1e300]
FLOATS += [math.inf, -math.inf]
# Beyond what the columns hold or a double can tell apart: restated or decided in SQL
EDGES = [99999999999999999999999, -(10**23), 10**400, 2**53 + 1, 2**63, -(2**63) - 1, 1e23]
DATES = [date(2020, 2, 28), date(2020, 2, 29), date(2020, 3, 1), date(2021, 12, 31)]
DATES += [date(2022, 1, 1), date(2022, 6, 15)]
TIMES = [datetime(2020, 2, 29, tzinfo=UTC), datetime(2020, 2, 29, 23, 59, 59, 999000, UTC)]
TIMES += [datetime(2021, 12, 31, 12, 0, 0, 500000, UTC), datetime(2022, 1, 1, tzinfo=UTC)]
TIMES += [datetime(2022, 6, 15, 8, 30, 0, 123000, UTC), datetime(2020, 3, 1, 0, 0, 0, 1000, UTC)]
LITERALS: dict[str, list[Any]] = {
    "number": INTS + FLOATS + EDGES + [0.25, 1.5, 100, -7, None],  # None: folded 2^2000
    "string": STRINGS + ["b", "Zz", "straße ", "é", None],
    "boolean": [True, False],
    "date": DATES + [date(2019, 1, 1), date(2022, 1, 2)],
    "datetime": TIMES + [datetime(2020, 2, 29, 12, tzinfo=UTC), datetime(2023, 1, 1, tzinfo=UTC)],
}
PROPS = {"number": ["i", "x"], "string": ["s"], "boolean": ["b"], "date": ["d"]}
PROPS["datetime"] = ["t", "e"]
PATTERNS = ["%", "_", "a%", "%ß", "S%", "_b", "\\%", "a\\_b", "%\\\\%", "\\", "Stra_e", "%é%"]


def _features() -> list[dict[str, Any]]:
    rng = random.Random(20240611)

    def pick(values: list[Any]) -> Any:
        return None if rng.random() < 0.2 else rng.choice(values)

    rows = []
    for n in range(1, 43):
        g = None if rng.random() < 0.15 else (rng.randint(-8, 8) / 2, rng.randint(-8, 8) / 2)
        rows.append({"id": n, "i": pick(INTS), "x": pick(FLOATS), "s": pick(STRINGS)})
        rows[-1] |= {"b": pick([True, False]), "d": pick(DATES), "t": pick(TIMES)}
        rows[-1] |= {"e": pick(TIMES), "g": g}
    rows[0] = {k: (1 if k == "id" else None) for k in rows[1]}  # a feature of nulls only
    return rows


ROWS = _features()


def _mapped(row: dict[str, Any]) -> dict[str, Any]:
    """The row as the gateway sees it after mapping: ISO text for dates and instants."""
    props = {k: row[k] for k in ("i", "x", "s", "b")}
    props["d"] = row["d"] and row["d"].isoformat()
    props["t"] = row["t"] and row["t"].isoformat(timespec="milliseconds").replace("+00:00", "Z")
    props["e"] = row["e"] and row["e"].replace(tzinfo=None).isoformat(timespec="milliseconds")
    geometry = None if row["g"] is None else {"type": "Point", "coordinates": list(row["g"])}
    return {"type": "Feature", "id": row["id"], "geometry": geometry, "properties": props}


FEATURES = [_mapped(r) for r in ROWS]


def reference(expr: Expr) -> set[int]:
    test = compile_predicate(expr, types=TYPES)
    return {f["id"] for f in FEATURES if test(f)}


# --- strategies ---------------------------------------------------------------------------


def scalar(kind: str, arithmetic: bool, props: dict[str, list[str]] = PROPS) -> Any:
    base = st.one_of(
        st.sampled_from([Property(p) for p in props[kind]]),
        st.sampled_from(LITERALS[kind]).map(Literal),
    )
    if kind != "number" or not arithmetic:
        return base
    ops = st.sampled_from(["+", "-", "*", "/"])
    return st.one_of(base, st.builds(lambda op, a, b: Call(op, (a, b)), ops, base, base))


def comparison(arithmetic: bool, props: dict[str, list[str]] = PROPS) -> Any:
    def of_kind(kind: str) -> st.SearchStrategy[Expr]:
        value = scalar(kind, arithmetic, props)
        ops = st.sampled_from(["=", "<>", "<", "<=", ">", ">="])
        items = st.lists(value, min_size=1, max_size=4)
        return st.one_of(
            st.builds(lambda op, a, b: Call(op, (a, b)), ops, value, value),
            st.builds(lambda a, lo, hi: Call("between", (a, lo, hi)), value, value, value),
            st.builds(lambda a, xs: Call("in", (a, *xs)), value, items),
            value.map(lambda a: Call("isNull", (a,))),
        )

    return st.sampled_from(sorted(props)).flatmap(of_kind)


def like() -> st.SearchStrategy[Expr]:
    patterns = st.one_of(st.sampled_from(PATTERNS), st.text(alphabet="a%_\\äßSé", max_size=5))
    value = scalar("string", False)
    return st.builds(lambda v, p: Call("like", (v, Literal(p))), value, patterns)


def temporal() -> st.SearchStrategy[Expr]:
    props = st.sampled_from([Property(p) for p in ("d", "t", "e")])
    moments = st.sampled_from(LITERALS["date"] + LITERALS["datetime"])
    ends = st.one_of(props, moments.map(Literal), st.just(Literal(None)))
    literal_interval = st.builds(
        TimeInterval, st.one_of(st.none(), moments), st.one_of(st.none(), moments)
    )
    span = st.one_of(
        props,
        moments.map(Literal),
        literal_interval.map(Literal),
        st.builds(lambda a, b: Call("interval", (a, b)), ends, ends),
    )
    return st.builds(
        lambda op, a, b: Call(op, (a, b)), st.sampled_from(sorted(TEMPORAL)), span, span
    )


GEOMETRIES = [
    shapely.box(-1, -1, 1, 1),
    shapely.box(0, 0, 3, 2),
    shapely.Point(0.5, -1.5),
    shapely.LineString([(-4, -4), (4, 4)]),
    shapely.Polygon([(-3, -3), (3, -3), (0, 3)]),
    shapely.MultiPolygon([shapely.box(2, 2, 4, 4), shapely.box(-4, -4, -2, -2)]),
]


def spatial() -> st.SearchStrategy[Expr]:
    ops = ["s_intersects", "s_equals", "s_disjoint", "s_touches", "s_within"]
    ops += ["s_overlaps", "s_crosses", "s_contains"]
    geometry = st.sampled_from(GEOMETRIES).map(Literal)
    me = st.just(Property(GEOMETRY))
    pair = st.one_of(st.tuples(me, geometry), st.tuples(geometry, me))
    return st.builds(lambda op, ab: Call(op, ab), st.sampled_from(ops), pair)


def filters(dialect: str) -> st.SearchStrategy[Expr]:
    props = PG_PROPS if dialect == "postgis" else PROPS
    leaves = [comparison(dialect == "sqlite", props), like(), temporal()]
    if dialect == "postgis":
        leaves.append(spatial())
        leaves.append(st.just(Call("isNull", (Property(GEOMETRY),))))
    return st.recursive(
        st.one_of(*leaves),
        lambda inner: st.one_of(
            inner.map(lambda a: Call("not", (a,))),
            st.lists(inner, min_size=2, max_size=3).map(lambda xs: Call("and", tuple(xs))),
            st.lists(inner, min_size=2, max_size=3).map(lambda xs: Call("or", tuple(xs))),
        ),
        max_leaves=6,
    )


def agree(
    expr: Expr, run: Callable[[Expr], set[int]], reference: Callable[[Expr], set[int]] = reference
) -> None:
    selected = reference(expr)
    event("selects none" if not selected else "selects all" if len(selected) == 42 else "some")
    for e in (expr, Call("not", (expr,))):
        assert run(e) == reference(e), e


# --- SQLite -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_db() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE TABLE features (id INTEGER PRIMARY KEY, i INTEGER, x REAL, s TEXT,"
        " b BOOLEAN, d DATE, t DATETIME, e DATETIME)"
    )
    for row, feature in zip(ROWS, FEATURES, strict=True):
        p = feature["properties"]
        # instants stored both ways GeoPackages have them: with 'Z' and naive
        t = None if row["t"] is None else p["t"]
        conn.execute(
            "INSERT INTO features VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (row["id"], p["i"], p["x"], p["s"], p["b"], p["d"], t, p["e"]),
        )
    yield conn
    conn.close()


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(expr=filters("sqlite"))
def test_sqlite_agrees_with_the_reference_evaluation(sqlite_db: sqlite3.Connection, expr: Expr):
    def run(e: Expr) -> set[int]:
        where, params = compile_sql(e, "sqlite", lambda c: f'"{c}"', types=TYPES)
        return {r[0] for r in sqlite_db.execute(f"SELECT id FROM features WHERE {where}", params)}

    agree(expr, run)


# --- PostGIS ------------------------------------------------------------------------------


# PostgreSQL's narrower number columns: smallint and integer (from `i` where it fits), real
# and numeric (from `x`), filtered as connectors/postgis/table.py filters them: real as the
# float its text is, numeric as itself; the reference reads what the records carry.
PG_PROPS = PROPS | {"number": ["i", "x", "h", "n", "r", "m"]}
PG_TYPES = TYPES | {"h": "integer", "n": "integer", "r": "number", "m": "number"}
PG_COLUMNS = {"r": '("r"::text::float8)'}
PG_FEATURES: list[dict[str, Any]] = []


def pg_reference(expr: Expr) -> set[int]:
    test = compile_predicate(expr, types=PG_TYPES)
    return {f["id"] for f in PG_FEATURES if test(f)}


def _narrow(value: Any, bits: int) -> Any:
    return (
        value if isinstance(value, int) and -(2 ** (bits - 1)) <= value < 2 ** (bits - 1) else None
    )


@pytest.fixture(scope="module")
def pg_table(pg: PG) -> Iterator[PG]:
    """`s` gets a linguistic collation when ICU is there, so code-point order is tested."""
    icu = pg.fetch("SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu'")
    collate = ' COLLATE "und-x-icu"' if icu else ""
    pg.execute(
        f"CREATE TABLE differential (id int PRIMARY KEY, i bigint, x float8, s text{collate},"
        " b boolean, d date, t timestamptz, e timestamp, g geometry(Point, 4326),"
        " h smallint, n integer, r real, m numeric)"
    )
    pg.executemany(
        "INSERT INTO differential VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
        " ST_GeomFromText($9, 4326), $10, $11, $12, $13)",
        [
            (
                *(r[k] for k in ("id", "i", "x", "s", "b", "d", "t")),
                r["e"] and r["e"].replace(tzinfo=None),
                None if r["g"] is None else shapely.Point(r["g"]).wkt,
                _narrow(r["i"], 16),
                _narrow(r["i"], 32),
                r["x"] if r["x"] is None or abs(r["x"]) < 1e30 else None,
                r["x"] if r["x"] is None or math.isfinite(r["x"]) else None,
            )
            for r in ROWS
        ],
    )
    carried = pg.fetch("SELECT id, h, n, r::text::float8 AS r, m::float8 AS m FROM differential")
    narrow = {row["id"]: dict(row) for row in carried}
    PG_FEATURES[:] = [{**f, "properties": {**f["properties"], **narrow[f["id"]]}} for f in FEATURES]
    yield pg


@pytest.mark.integration
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(expr=filters("postgis"))
def test_postgis_agrees_with_the_reference_evaluation(pg_table: PG, expr: Expr):
    def run(e: Expr) -> set[int]:
        column = lambda c: PG_COLUMNS.get(c, f'"{c}"')  # noqa: E731
        where, params = compile_sql(e, "postgis", column, '"g"', types=PG_TYPES)
        return {
            r["id"] for r in pg_table.fetch(f"SELECT id FROM differential WHERE {where}", *params)
        }

    agree(expr, run, pg_reference)
