import sqlite3
from datetime import UTC, date, datetime

import pytest
import shapely

from connectors.filters import GEOMETRY, Call, Literal, Property, Unsupported
from connectors.sqlfilter import OPERATORS, compile_sql, pushable, sqlite_time
from gateway.query.cql2 import field_types, parse

Q = {
    "name": {"type": "string"},
    "n": {"type": "integer"},
    "x": {"type": "number"},
    "day": {"type": "string", "format": "date"},
    "at": {"type": "string", "format": "date-time"},
    "tags": {"type": "array"},
    "geom": {"format": "geometry-any"},
}
TYPES = field_types(Q)


def sql(text, dialect="sqlite", **kw):
    kw.setdefault("types", TYPES)
    return compile_sql(parse(text, None, Q), dialect, lambda c: f'"{c}"', '"geom"', **kw)


def test_values_are_bound_never_written_into_the_sql():
    hostile = "x'); DROP TABLE t; --"
    for dialect in ("sqlite", "postgis"):
        where, params = sql(f"name = '{hostile.replace(chr(39), chr(39) * 2)}'", dialect)
        assert hostile not in where and params == [hostile]


def test_placeholders_per_dialect_and_numbered_from_first_param():
    assert sql("n = 1 AND x < 2.5") == ('(("n" = ?1) AND ("x" < ?2))', [1, 2.5])
    where, params = sql("n = 1 AND x < 2.5", "postgis", first_param=3)
    assert where == '(("n" = $3::bigint) AND ("x" < $4::float8))' and params == [1, 2.5]


def test_strings_compare_by_code_point_in_both_dialects():
    assert sql("name < 'b'")[0] == '("name" COLLATE BINARY < ?1)'
    assert sql("name < 'b'", "postgis")[0] == '("name" COLLATE "C" < $1::text)'
    between = sql("name BETWEEN 'a' AND 'b'", "postgis")[0]
    assert between == '("name" COLLATE "C" BETWEEN $1::text AND $2::text)'


def test_postgresql_equality_keeps_the_columns_collation_so_an_index_serves_it():
    assert sql("name = 'b'", "postgis")[0] == '("name" = $1::text)'
    assert sql("name <> 'b'", "postgis")[0] == '("name" <> $1::text)'
    assert sql("name IN ('a', 'b')", "postgis")[0] == '("name" IN ($1::text, $2::text))'


def test_sqlite_equality_keeps_binary_which_an_ordinary_index_still_serves():
    db = sqlite3.connect(":memory:")
    db.executescript(
        "CREATE TABLE t (name TEXT, nocase TEXT COLLATE NOCASE); CREATE INDEX i ON t (name);"
        "INSERT INTO t VALUES ('Abc', 'Abc')"
    )
    for text in ("name = 'Abc'", "name IN ('Abc', 'x')"):
        where, params = sql(text)
        plan = db.execute(f"EXPLAIN QUERY PLAN SELECT * FROM t WHERE {where}", params).fetchall()
        assert "USING INDEX i" in str(plan), (where, plan)
    # BINARY is what keeps a NOCASE column from matching 'abc' to 'Abc'
    types = {"nocase": "string"}
    where, params = compile_sql(parse("nocase = 'abc'"), "sqlite", lambda c: c, types=types)
    assert db.execute(f"SELECT count(*) FROM t WHERE {where}", params).fetchone() == (0,)


def test_like_becomes_glob_in_sqlite_and_is_re_escaped_for_postgresql():
    assert sql("name LIKE 'a*b?[%_\\%'") == ('("name" GLOB ?1)', ["a[*]b[?][[]*?%"])
    where, params = sql("name LIKE 'ends with \\'", "postgis")
    assert where == '("name" COLLATE "C" LIKE $1::text ESCAPE E\'\\\\\')'
    assert params == ["ends with \\\\"]


def test_temporal_values_in_sqlite_are_normalised_text():
    where, params = sql("day = DATE('2024-05-01') AND at > TIMESTAMP('2024-05-01T10:00:00Z')")
    assert where == ('((date("day") = ?1) AND (strftime(\'%Y-%m-%dT%H:%M:%f\', "at") > ?2))')
    assert params == ["2024-05-01", "2024-05-01T10:00:00.000"]
    assert sqlite_time(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00.000"
    assert sqlite_time(datetime(2024, 5, 1, 23, 59, 59, 999999, UTC)).endswith("59.999999")


def test_a_date_span_in_postgresql_ends_a_microsecond_before_midnight():
    where, params = sql("T_AFTER(day, TIMESTAMP('2024-05-01T00:00:00Z'))", "postgis")
    assert "AT TIME ZONE 'UTC'" in where and params == [datetime(2024, 5, 1, tzinfo=UTC)]
    where, _ = sql("T_BEFORE(day, TIMESTAMP('2024-05-01T00:00:00Z'))", "postgis")
    assert "interval '1 microsecond'" in where


def test_spatial_sql_in_the_columns_srid_keeps_crs84_semantics_and_the_index():
    where, params = sql("S_INTERSECTS(geom, BBOX(9, 53, 11, 54))", "postgis", srid=25832)
    assert where.startswith('("geom" && ST_MakeEnvelope(')
    assert 'ST_Intersects(ST_Transform("geom", 4326), ST_GeomFromWKB($1::bytea, 4326))' in where
    assert shapely.from_wkb(params[0]).equals(shapely.box(9, 53, 11, 54))
    where, _ = sql("S_INTERSECTS(geom, BBOX(9, 53, 11, 54))", "postgis")
    assert where == '(ST_Intersects("geom", ST_GeomFromWKB($1::bytea, 4326)))'
    where, _ = sql("S_DISJOINT(geom, BBOX(9, 53, 11, 54))", "postgis", srid=25832)
    assert "&&" not in where


@pytest.mark.parametrize(
    ("text", "dialect", "op"),
    [
        ("CASEI(name) = casei('a')", "postgis", "casei"),
        ("ACCENTI(name) = accenti('a')", "sqlite", "accenti"),
        ("S_INTERSECTS(geom, POINT(1 2))", "sqlite", "s_intersects"),
        ("S_DWITHIN(geom, POINT(1 2), 5)", "postgis", "s_dwithin"),
        ("A_CONTAINS(tags, ('a'))", "postgis", "a_contains"),
        ("n + 1 > 2", "postgis", "+"),
        ("n % 2 = 1", "sqlite", "%"),
        ("at > TIMESTAMP('2024-05-01T10:00:00.0005Z')", "sqlite", "timestamp"),
        ("name LIKE name", "sqlite", "like"),
        ("S_WITHIN(geom, GEOMETRYCOLLECTION(POINT(1 1)))", "postgis", "s_within"),
        ("geom IS NULL", "sqlite", "isNull"),
    ],
)
def test_what_a_dialect_cannot_do_exactly_is_unsupported(text, dialect, op):
    with pytest.raises(Unsupported) as e:
        sql(text, dialect)
    assert e.value.op == op


def test_touching_and_equality_are_pushed_in_any_srid_after_the_same_transform():
    """PostGIS transforms as pyproj does (test_spatial_exact.py shows it on shared vertices)."""
    moved = sql("S_TOUCHES(geom, POINT(1 2))", "postgis", srid=3857)[0]
    assert 'ST_Touches(ST_Transform("geom", 4326)' in moved and "&&" in moved
    assert sql("S_TOUCHES(geom, POINT(1 2))", "postgis")[0].startswith("(ST_Touches(")


def test_untyped_or_mismatched_properties_are_unsupported():
    with pytest.raises(Unsupported):
        compile_sql(Call("=", (Property("n"), Literal(1))), "sqlite", str)
    mixed = Call("=", (Property("n"), Literal("1")))
    with pytest.raises(Unsupported):
        compile_sql(mixed, "postgis", str, types=TYPES)
    with pytest.raises(Unsupported):
        compile_sql(Call("isNull", (Property(GEOMETRY),)), "postgis", str, types=TYPES)


def test_three_valued_logic_in_sqlite_matches_on_a_table():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER, n INTEGER, name TEXT, day DATE)")
    conn.executemany(
        "INSERT INTO t VALUES (?, ?, ?, ?)",
        [(1, 1, "a", "2024-05-01"), (2, None, None, None), (3, 5, "B", "2024-05-02")],
    )
    cases = {
        "NOT (n = 1)": {3},
        "n <> 1": {3},
        "NOT (n IS NULL)": {1, 3},
        "NOT (name LIKE 'a%') ": {3},
        "T_INTERSECTS(day, TIMESTAMP('2024-05-01T23:00:00Z'))": {1},
        "n / 0 IS NULL": {1, 2, 3},
    }
    for text, expected in cases.items():
        where, params = sql(text)
        assert {r[0] for r in conn.execute(f"SELECT id FROM t WHERE {where}", params)} == expected


def test_pushable_asks_compile_sql_and_operators_list_each_dialect():
    test = pushable("postgis", types=TYPES)
    assert test(parse("n = 1 AND S_INTERSECTS(geom, POINT(1 2))", None, Q))
    assert not test(parse("CASEI(name) = casei('x')", None, Q))
    assert "s_intersects" in OPERATORS["postgis"] and "s_intersects" not in OPERATORS["sqlite"]
    assert "+" in OPERATORS["sqlite"] and "+" not in OPERATORS["postgis"]
    assert date(2024, 1, 1)  # dates bind natively in PostgreSQL (see the differential test)


def test_a_literal_beyond_the_columns_type_is_decided_in_sql_not_left_to_the_gateway():
    """planting_year > 99999999999999999999999 once read a whole table into Python."""
    huge = "99999999999999999999999"
    for dialect in ("sqlite", "postgis"):
        assert pushable(dialect, types=TYPES)(parse(f"n > {huge}", None, Q))
    assert sql(f"n > {huge}", "postgis") == ("FALSE", [])
    assert sql(f"n <> {huge}", "postgis") == ('("n" IS NOT NULL)', [])
    # under NOT an unknown (null n) must not come out true: NOT (n > huge) keeps non-nulls
    assert sql(f"NOT (n > {huge})", "postgis")[0] == '(NOT ("n" IS NULL))'
    # the parser reads it as the double 1e23, which a double column compares as it is
    assert sql(f"x > {huge}", "postgis") == ('("x" > $1::float8)', [1e23])
    assert sql(f"x > {huge}") == ('("x" > ?1)', [1e23])


def test_an_integer_column_meets_a_fraction_as_its_integer_neighbour_with_its_index():
    assert sql("n > 2.5", "postgis") == ('("n" >= $1::bigint)', [3])
    assert sql("n <= 2.5", "postgis") == ('("n" <= $1::bigint)', [2])
    assert sql("n = 2.5", "postgis")[0] == "FALSE"
    assert sql("n IN (2.5, 4.0)", "postgis") == ('("n" IN ($1::bigint))', [4])


def test_integers_no_double_holds_are_restated_between_two_doubles():
    """A double column against 2**53 + 1 (from `?x=9007199254740993`, parsed exactly)."""
    expr = Call("<", (Property("x"), Literal(2**53 + 1)))
    assert compile_sql(expr, "postgis", lambda c: f'"{c}"', types=TYPES) == (
        '("x" <= $1::float8)',
        [2.0**53],
    )
    # SQLite compares an integer with a real exactly: bound as it is, unless beyond int64
    assert compile_sql(expr, "sqlite", lambda c: f'"{c}"', types=TYPES)[1] == [2**53 + 1]
    beyond = Call(">", (Property("x"), Literal(10**400)))  # above every double but infinity
    assert compile_sql(beyond, "sqlite", lambda c: f'"{c}"', types=TYPES)[1] == [float("inf")]


def test_null_literals_from_folded_arithmetic_are_unknown_in_sql_too():
    # 2^2000 overflows to null: every comparison with it is unknown, NOT of it too
    assert sql("x > 2^2000", "postgis") == ("NULL", [])
    assert sql("NOT (x > 2^2000)")[0] == "(NOT NULL)"
    assert sql("x IN (1, 2^2000)")[0] == '("x" IN (?1) OR NULL)'
