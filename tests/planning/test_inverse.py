import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import Capabilities
from connectors.filters import Call, Literal, Property, conjuncts, walk
from gateway.mapping import Mapper, Mapping, MappingRule
from gateway.planning.inverse import split
from gateway.query.cql2 import parse
from gateway.query.evaluate import compile_value

EVERYTHING = lambda expr: True  # noqa: E731 - a connector that runs any filter


def rules(**properties: Any) -> dict[str, MappingRule]:
    return Mapping(properties=properties).rules()


def selected(
    text: str,
    rule_set: dict[str, MappingRule],
    source_types: dict[str, str],
    records: list[dict[str, Any]],
    capabilities: Any = EVERYTHING,
) -> list[int]:
    """Runs the split filter as the planner would (pushed on source records, residual on
    mapped features) and checks it selects exactly what the filter selects after mapping."""
    expr = parse(text)
    pushed, residual = split(expr, rule_set, capabilities, source_types=source_types)
    mapper = Mapper(
        Mapping(
            properties={
                n: r.model_dump(by_alias=True, exclude_none=True) for n, r in rule_set.items()
            }
        )
    )
    want, got = [], []
    for n, props in enumerate(records):
        record = {"id": n, "properties": props, "geometry": None}
        feature = mapper(record)
        if compile_value(expr)(feature) is True:
            want.append(n)
        source_ok = pushed is None or compile_value(pushed)(record) is True
        if source_ok and (residual is None or compile_value(residual)(feature) is True):
            got.append(n)
    assert got == want, (text, pushed, residual)
    return got


def test_renames_push_with_source_names():
    r = rules(species="art", height={"from": "hoehe", "type": "number"})
    pushed, residual = split(
        parse("species = 'Tilia' AND height > 3"), r, EVERYTHING, source_types={"hoehe": "number"}
    )
    assert pushed == Call(
        "and",
        (
            Call("=", (Property("art"), Literal("Tilia"))),
            Call(">", (Property("hoehe"), Literal(3))),
        ),
    )
    assert residual is None


def test_a_split_list_is_evaluated_after_mapping_never_pushed():
    """'Typ 2, CCS' is no value of the list ['type2', 'ccs2']: neither a rename nor the code
    list may push a term on it; the other terms still go down."""
    codes = {"Typ 2": "type2", "CCS": "ccs2"}
    r = rules(
        connectors={"from": "stecker", "split": ",", "codes": codes},
        operator="betreiber",
        plain={"from": "text", "split": ","},
    )
    types = {"stecker": "string", "betreiber": "string", "text": "string"}
    expr = parse("operator = 'EnBW' AND connectors = 'type2' AND plain = 'a'")
    pushed, residual = split(expr, r, EVERYTHING, source_types=types)
    assert pushed == Call("=", (Property("betreiber"), Literal("EnBW")))
    assert residual is not None and {p.name for p in walk(residual) if isinstance(p, Property)} == {
        "connectors",
        "plain",
    }


def test_identity_mapping_pushes_everything_the_connector_accepts():
    expr = parse("a = 1 AND CASEI(b) = casei('x')")
    assert split(expr, None, EVERYTHING) == (expr, None)
    ops = frozenset({"=", "and"})
    assert split(expr, None, ops) == (expr.args[0], expr.args[1])
    assert split(expr, None, Capabilities(filter_ops=ops)) == (expr.args[0], expr.args[1])
    assert split(expr, None, frozenset()) == (None, expr)


def test_a_unit_factor_pushes_the_exact_boundary_in_source_units():
    r = rules(trunk_circumference_cm={"from": "diameter", "type": "number", "factor": math.pi})
    pushed, residual = split(
        parse("trunk_circumference_cm > 100"), r, EVERYTHING, source_types={"diameter": "number"}
    )
    assert residual is None and pushed.op == ">=" and pushed.args[0] == Property("diameter")
    bound = pushed.args[1].value
    assert round(bound * math.pi, 6) > 100
    assert round(math.nextafter(bound, 0) * math.pi, 6) <= 100
    records = [{"diameter": v} for v in _around(bound)] + [{"diameter": None}, {"diameter": 40}]
    for text in (
        "trunk_circumference_cm > 100",
        "trunk_circumference_cm <= 100",
        "trunk_circumference_cm = 100",
        "NOT (trunk_circumference_cm <> 100)",
        "trunk_circumference_cm BETWEEN 100 AND 125.663706",
        "trunk_circumference_cm IN (100, 125.663706)",
    ):
        selected(text, r, {"diameter": "number"}, records)


def test_integer_rounding_and_negative_factors_invert_exactly():
    r = rules(
        h={"from": "cm", "type": "integer", "factor": 0.01},
        t={"from": "f", "factor": -5 / 9, "offset": 160 / 9},
    )
    types = {"cm": "integer", "f": "number"}
    records = [
        {"cm": cm, "f": f / 4} for cm, f in zip(range(1140, 1360, 3), range(-80, 80), strict=False)
    ]
    records += [{"cm": None, "f": None}]
    for text in (
        "h = 12",
        "h > 12",
        "h <= 12",
        "h <> 12",
        "h IN (11, 13)",
        "t < 10",
        "t >= 17.777778",
        "t = 10",
        "NOT (t > 12.5 OR h < 12)",
    ):
        selected(text, r, types, records)
    pushed, _ = split(parse("h = 12"), r, EVERYTHING, source_types=types)
    assert pushed == Call(
        "and",
        # 11.5 and 12.5 both round to 12 (half to even): 1150 <= cm <= 1250
        (Call(">=", (Property("cm"), Literal(1150))), Call("<", (Property("cm"), Literal(1251)))),
    )


def test_a_value_the_mapping_never_produces_stays_residual():
    r = rules(h={"from": "cm", "type": "integer", "factor": 0.01})
    assert split(parse("h = 12.5"), r, EVERYTHING, source_types={"cm": "integer"})[0] is None


def test_code_lists_map_literals_back_to_codes():
    r = rules(genus={"from": "code", "codes": {"TI": "Tilia", "QU": "Quercus", "AC": "Acer"}})
    types = {"code": "string"}
    pushed, residual = split(parse("genus = 'Tilia'"), r, EVERYTHING, source_types=types)
    assert pushed == Call("in", (Property("code"), Literal("TI"))) and residual is None
    assert split(parse("genus = 'Betula'"), r, EVERYTHING, source_types=types) == (
        Literal(False),
        None,
    )
    records = [{"code": c} for c in ("TI", "QU", "AC", "XX", "", None, "ti")]
    for text in (
        "genus = 'Tilia'",
        "genus <> 'Tilia'",
        "NOT (genus = 'Tilia')",
        "genus IN ('Tilia', 'Acer', 'Betula')",
        "genus LIKE '%er%'",
        "NOT (genus LIKE 'T%' OR genus = 'Quercus')",
        "genus IS NULL",
        "genus IS NOT NULL",
        "genus = 'Betula'",
    ):
        selected(text, r, types, records)


def test_a_term_true_for_unmapped_codes_stays_residual():
    r = rules(genus={"from": "code", "codes": {"TI": "Tilia"}})
    pushed, residual = split(parse("genus IS NULL"), r, EVERYTHING, source_types={"code": "string"})
    assert pushed is None and residual == parse("genus IS NULL")


def test_numeric_codes_compare_as_the_mapping_prints_them():
    r = rules(district={"from": "nr", "codes": {1: "Mitte", "2": "Nord", "03": "Ost"}})
    pushed, _ = split(
        parse("district IN ('Mitte', 'Nord', 'Ost')"), r, EVERYTHING, source_types={"nr": "integer"}
    )
    assert pushed == Call("in", (Property("nr"), Literal(1), Literal(2)))
    records = [{"nr": n} for n in (1, 2, 3, None)]
    selected("district IN ('Mitte', 'Nord', 'Ost')", r, {"nr": "integer"}, records)


def test_constants_fold_at_plan_time():
    r = rules(city={"constant": "Leipzig"}, height={"from": "h"})
    types = {"h": "number"}
    assert split(parse("city = 'Leipzig'"), r, EVERYTHING, source_types=types) == (None, None)
    assert split(parse("city = 'Hamburg' AND height > 1"), r, EVERYTHING) == (Literal(False), None)
    assert split(parse("city = 'Hamburg'"), r, frozenset()) == (None, Literal(False))
    assert split(parse("city = 'Hamburg' OR height > 1"), r, EVERYTHING)[0] == parse("h > 1")
    assert split(parse("colour = 'red'"), r, EVERYTHING) == (Literal(False), None)  # unmapped
    records = [{"h": 0.5}, {"h": 2}, {"h": None}]
    for text in (
        "city = 'Leipzig' AND height > 1",
        "NOT (city = 'Hamburg') AND height > 1",
        "city LIKE 'L%' OR height IS NULL",
    ):
        selected(text, r, types, records)


def test_string_casts_push_only_where_blank_and_null_agree():
    r = rules(name={"from": "NAME", "type": "string"})
    types = {"NAME": "string"}
    assert split(parse("name = 'x'"), r, EVERYTHING, source_types=types)[0] is not None
    for text in ("name <> 'x'", "name IS NULL", "NOT (name = 'x')"):
        assert split(parse(text), r, EVERYTHING, source_types=types)[0] is None
    records = [{"NAME": v} for v in ("x", "y", "", None)]
    for text in ("name = 'x'", "name <> 'x'", "name IS NULL", "NOT (name = 'x')"):
        selected(text, r, types, records)


def test_templates_formats_and_text_to_number_stay_residual():
    r = rules(
        street={"template": "{str} {nr}"},
        day={"from": "d", "type": "date", "format": "%d.%m.%Y"},
        n={"from": "txt", "type": "number"},
    )
    types = {"d": "string", "txt": "string", "str": "string", "nr": "integer"}
    for text in ("street = 'Ring 1'", "day = DATE('2024-05-01')", "n > 1"):
        expr = parse(text)
        assert split(expr, r, EVERYTHING, source_types=types) == (None, expr)


def test_pushed_and_residual_parts_of_one_filter():
    r = rules(species="art", genus={"template": "{g}"})
    pushed, residual = split(parse("species = 'a' AND genus = 'b'"), r, EVERYTHING)
    assert pushed == parse("art = 'a'") and residual == parse("genus = 'b'")


def _around(value: float, steps: int = 3) -> list[float]:
    found, up, down = [value], value, value
    for _ in range(steps):
        up, down = math.nextafter(up, math.inf), math.nextafter(down, -math.inf)
        found += [up, down]
    return found


factors = st.one_of(st.floats(1e-4, 1e4), st.floats(-1e4, -1e-4), st.just(math.pi))


@settings(max_examples=200, deadline=None)
@given(
    factor=factors,
    offset=st.one_of(st.none(), st.floats(-1000, 1000)),
    cast=st.sampled_from([None, "number", "integer"]),
    source=st.sampled_from(["integer", "number"]),
    op=st.sampled_from(["=", "<>", "<", "<=", ">", ">="]),
    c=st.one_of(st.integers(-(10**6), 10**6), st.floats(-1e6, 1e6)),
)
def test_numeric_rewrites_are_exact_at_their_boundaries(factor, offset, cast, source, op, c):
    rule = {"from": "s", "factor": factor}
    rule |= {"offset": offset} if offset is not None else {}
    rule |= {"type": cast} if cast else {}
    r = rules(p=rule)
    text = f"p {op} {c!r}"
    pushed, _ = split(parse(text), r, EVERYTHING, source_types={"s": source})
    values: list[Any] = [None, 0, 1, -1]
    for node in walk(pushed) if pushed is not None else ():
        if isinstance(node, Literal) and isinstance(node.value, int | float):
            v = node.value
            values += list(range(v - 3, v + 4)) if source == "integer" else _around(v)
    records = [{"s": int(v) if source == "integer" and v is not None else v} for v in values]
    selected(text, r, {"s": source}, records)


# --- the split is kept for a client paging through one filter -----------------------------


def counting(accepts: bool = True) -> Any:
    """A connector's test that counts how often the planner really asks it."""

    def test(expr: Any) -> bool:
        test.calls += 1  # type: ignore[attr-defined]
        return accepts

    test.calls = 0  # type: ignore[attr-defined]
    return test


def test_split_of_an_equal_filter_is_kept():
    r, accepts = rules(species="art", height={"from": "hoehe", "type": "number"}), counting()
    types = {"hoehe": "number"}
    first = split(parse("species = 'kept' AND height > 3"), r, accepts, source_types=types)
    calls = accepts.calls
    again = split(parse("species = 'kept' AND height > 3"), r, accepts, source_types=dict(types))
    assert again is first and accepts.calls == calls


def test_kept_splits_tell_apart_literal_types_rules_capabilities_and_types():
    same = [split(Call("=", (Property("x"), Literal(v))), None, EVERYTHING)[0] for v in (1, True)]
    assert [type(p.args[1].value) for p in same] == [int, bool]  # type: ignore[union-attr]

    expr = parse("species = 'Tilia'")
    assert split(expr, rules(species="art"), EVERYTHING)[0] == parse("art = 'Tilia'")
    assert split(expr, rules(species="name"), EVERYTHING)[0] == parse("name = 'Tilia'")
    assert split(expr, None, counting(accepts=False)) == (None, expr)

    circumference = rules(c={"from": "d", "factor": 2})
    pushed_int, _ = split(parse("c > 5"), circumference, EVERYTHING, source_types={"d": "integer"})
    pushed_num, _ = split(parse("c > 5"), circumference, EVERYTHING, source_types={"d": "number"})
    assert pushed_int == parse("d >= 3") and pushed_num != pushed_int


def test_unhashable_capabilities_split_without_being_kept():
    first, second = conjuncts(parse("a = 1 AND b LIKE 'x%'"))
    assert split(Call("and", (first, second)), None, {"and", "="}) == (first, second)
