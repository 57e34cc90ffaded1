"""Profile conformance (`--profile street-trees --collection ID`): every item (or a sample)
validates against the profile's JSON Schema, the profile's queryables and sortables are
offered and work, and code-list properties hold codes of the profile's code lists.

Queryables and sortables are checked where the server declares the matching classes
(Features Part 3 queryables/filter, Part 8 sorting); otherwise those checks are skipped."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from conformance.context import HOOKS, Problems, SuiteHooks, Test, exact_match, expect
from conformance.features import api
from conformance.features.filter import queryables_url
from conformance.features.names import CQL2_TEXT, F3, FILTER, GEOJSON, JSON, QUERYABLES, SCHEMA_JSON
from conformance.model import CheckSkipped, Requirement, RequirementClass
from conformance.registry import PROFILE, check

SORTING = "http://www.opengis.net/spec/ogcapi-features-8/1.0/conf/sorting"
TYPES = {"string": (str,), "number": (int, float), "integer": (int,), "boolean": (bool,)}


def _profile(t: Test) -> Any:
    """The profile, and this test's requirement named after it (street-trees@1.0.0/schema)."""
    import profiles

    if not t.ctx.options.profile:
        raise CheckSkipped("no profile given (--profile)")
    profile = profiles.get(t.ctx.options.profile)
    if profile.kind != "features":
        raise CheckSkipped(f"{profile.id} is a {profile.kind} profile (checked on Datastreams)")
    generic = t.check.requirement
    rule = generic.id.rsplit("/", 1)[-1]
    cls = RequirementClass(f"Profile {profile.id} {profile.version}", "", str(profile.path))
    t.requirement = Requirement(
        f"profile:{profile.id}@{profile.version}/{rule}",
        generic.title,
        cls,
        str(profile.path / ("schema.json" if rule == "schema" else "profile.yaml")),
    )
    return profile


def _requirement(rule: str, title: str) -> Requirement:
    cls = RequirementClass("Profile conformance", "", "profiles/<id>/profile.yaml")
    return Requirement(f"profile:<id>/{rule}", title, cls, "profiles/<id>/schema.json")


SCHEMA = _requirement("schema", "Every item SHALL validate against the profile's JSON Schema")
QUERYABLE_RULE = _requirement("queryables", "The profile's queryables SHALL be offered and work")
SORTABLE_RULE = _requirement("sortables", "The profile's sortables SHALL be offered and work")
CODE_LISTS = _requirement("code-lists", "Code-list properties SHALL hold codes of the profile")
VERSION = _requirement(
    "version", "The collection SHALL declare in conformsTo the profile version checked against"
)
# A profile version as TwinBridge publishes it: .../profiles/{id}/{version}
PROFILE_URI = re.compile(r"/profiles/(?P<id>[^/?#]+)/(?P<version>\d+\.\d+\.\d+)$")


async def _items(t: Test) -> list[dict[str, Any]]:
    sample = t.ctx.options.sample
    if sample:
        url = api.items_url(t, t.collection)
        got = await api.read_all(t.http, url, {"limit": str(min(sample, 10_000))}, sample)
        return got.features[:sample]
    everything = await api.all_items(t, t.collection)
    everything.require_complete("the profile checks read every item (or use --sample N)")
    return everything.features


@check(
    SCHEMA,
    "profile/schema",
    "every item validates against the profile schema",
    suite=PROFILE,
    per_collection=True,
)
async def schema(t: Test) -> str:
    profile = _profile(t)
    found = Problems(limit=10)
    items = await _items(t)
    bad = 0
    for f in items:
        if profile.validator.is_valid(f):
            continue
        problems = profile.validate(f)
        if problems:
            bad += 1
            found.add(f"item {f.get('id')!r}: {problems[0]}")
    found.raise_if_any(f"{bad} of {len(items)} items are not valid {profile.id} {profile.version}")
    return f"{len(items)} items valid against {profile.id} {profile.version}"


@check(
    VERSION,
    "profile/version",
    "the collection declares the profile version checked against",
    suite=PROFILE,
    per_collection=True,
)
async def version(t: Test) -> str:
    """The version a collection declares is the one its items are checked against: a city
    whose mapping was written for 1.0.0 does not pass as conforming to 2.0.0."""
    profile = _profile(t)
    doc = await api.collection(t, t.collection)
    declared = [
        m.group("version")
        for uri in doc.get("conformsTo") or []
        if isinstance(uri, str) and (m := PROFILE_URI.search(uri)) and m["id"] == profile.id
    ]
    expect(declared, f"conformsTo names no version of {profile.id} (…/profiles/{profile.id}/X.Y.Z)")
    expect(
        profile.version in declared,
        f"the collection declares {profile.id} {', '.join(declared)}; "
        f"this suite checks {profile.version}",
    )
    return f"declares {profile.id} {profile.version}"


def _schema_type(profile: Any, name: str) -> tuple[str, str | None]:
    spec = profile.properties().get(name, {})
    kinds = spec.get("type")
    kind = next(
        (k for k in (kinds if isinstance(kinds, list) else [kinds]) if k != "null"), "string"
    )
    return kind, spec.get("format")


async def _queryables(t: Test) -> dict[str, Any]:
    got = await t.get(queryables_url(t), accept=f"{SCHEMA_JSON}, {JSON};q=0.9", cache=True)
    expect(got.status == 200, f"GET {got.url} answered {got.status}")
    props = got.json_object().get("properties")
    expect(isinstance(props, dict), f"{got.url}: no properties")
    return props  # type: ignore[return-value]


def _hashable(value: Any) -> bool:
    return not isinstance(value, list | dict)


def _common_value(items: list[dict], name: str) -> Any:
    values = [(f.get("properties") or {}).get(name) for f in items]
    present = [v for v in values if v is not None and not isinstance(v, bool) and _hashable(v)]
    return max(sorted(set(present), key=str), key=present.count) if present else None


def _literal(value: Any, fmt: str | None) -> str:
    if isinstance(value, int | float):
        return str(value)
    text = "'" + str(value).replace("'", "''") + "'"
    return {"date": f"DATE({text})", "date-time": f"TIMESTAMP({text})"}.get(fmt or "", text)


async def _select_check(
    t: Test, items: list[dict], name: str, value: Any, fmt: str | None, found: Problems
) -> None:
    """Filter the collection on `name = value` and compare with the items read."""
    declared = await api.declared(t)
    if FILTER.uri in declared and CQL2_TEXT.uri in declared:
        params = {"filter": f"{name} = {_literal(value, fmt)}", "filter-lang": "cql2-text"}
    elif f"{F3}/conf/queryables-query-parameters" in declared:
        params = {name: str(value)}
    else:
        return
    first = await t.get(api.items_url(t, t.collection), params=params, accept=GEOJSON)
    if not found.check(first.status == 200, f"{params}: status {first.status}"):
        return
    got = await api.all_items(t, t.collection, params)
    want = {str(f.get("id")) for f in items if (f.get("properties") or {}).get(name) == value}
    ids = {str(f.get("id")) for f in got.features}
    if not t.ctx.options.sample:
        found.check(ids == want, f"{params}: {len(ids)} items, {len(want)} have {name} = {value!r}")
    wrong = [f.get("id") for f in got.features if (f.get("properties") or {}).get(name) != value]
    found.check(not wrong, f"{params}: items {wrong[:3]} do not have {name} = {value!r}")


@check(
    QUERYABLE_RULE,
    "profile/queryables",
    "the profile's queryables are published with their types and filter",
    suite=PROFILE,
    needs=(QUERYABLES.uri,),
    per_collection=True,
)
async def queryables(t: Test) -> str:
    profile = _profile(t)
    published = await _queryables(t)
    items = await _items(t)
    found = Problems()
    for name in profile.queryables:
        if not found.check(name in published, f"queryable {name} is not published"):
            continue
        kind, fmt = _schema_type(profile, name)
        schema = published[name] if isinstance(published[name], dict) else {}
        got = schema.get("type")
        got_kinds = got if isinstance(got, list) else [got]
        ok = (
            kind in got_kinds
            or (kind == "number" and "integer" in got_kinds)
            or (kind == "integer" and "number" in got_kinds)
        )
        found.check(ok, f"queryable {name}: type {got!r}, the profile says {kind}")
        if fmt in ("date", "date-time"):
            found.check(
                schema.get("format") == fmt,
                f"queryable {name}: format {schema.get('format')!r}, the profile says {fmt}",
            )
        value = _common_value(items, name)
        if value is not None:
            await _select_check(t, items, name, value, fmt, found)
    found.raise_if_any()
    return f"{len(profile.queryables)} queryables published and usable"


def _keys(value: Any) -> list[Callable[[Any], Any]]:
    if isinstance(value, str):

        def plain(s: Any) -> Any:
            return unicodedata.normalize("NFD", s.casefold()).encode("ascii", "ignore")

        return [lambda s: s, lambda s: s.casefold(), plain]
    return [lambda v: v]


def _sorted(values: list[Any], descending: bool) -> bool:
    present = [v for v in values if v is not None]
    if len(present) < 2:
        return True
    for key in _keys(present[0]):
        try:
            keyed = [key(v) for v in present]
        except (TypeError, AttributeError):
            continue
        pairs = zip(keyed, keyed[1:], strict=False)
        if all((a >= b) if descending else (a <= b) for a, b in pairs):
            return True
    return False


@check(
    SORTABLE_RULE,
    "profile/sortables",
    "the profile's sortables are published and sortby orders by them",
    suite=PROFILE,
    needs=(SORTING,),
    per_collection=True,
)
async def sortables(t: Test) -> str:
    profile = _profile(t)
    url = api.collection_url(t, t.collection) + "/sortables"
    got = await t.get(url, accept=f"{SCHEMA_JSON}, {JSON};q=0.9")
    expect(got.status == 200, f"GET {got.url} answered {got.status}")
    published = got.json_object().get("properties") or {}
    found = Problems()
    for name in profile.sortables:
        if not found.check(name in published, f"sortable {name} is not published"):
            continue
        for sign, descending in (("", False), ("-", True)):
            page = await t.get(
                api.items_url(t, t.collection),
                params={"sortby": f"{sign}{name}", "limit": "200"},
                accept=GEOJSON,
            )
            if not found.check(page.status == 200, f"sortby={sign}{name}: status {page.status}"):
                continue
            values = [
                (f.get("properties") or {}).get(name) for f in api.features_of(page.json_object())
            ]
            found.check(
                _sorted(values, descending), f"sortby={sign}{name}: not sorted: {values[:5]}…"
            )
    found.raise_if_any()
    return f"{len(profile.sortables)} sortables published and honoured both ways"


@check(
    CODE_LISTS,
    "profile/code-lists",
    "code-list properties hold the profile's codes",
    suite=PROFILE,
    per_collection=True,
)
async def code_lists(t: Test) -> str:
    profile = _profile(t)
    if not profile.code_lists:
        raise CheckSkipped(f"the profile {profile.id} has no code lists")
    items = await _items(t)
    found = Problems()
    for name, codes in profile.code_lists.items():
        for f in items:
            value = (f.get("properties") or {}).get(name)
            values = value if isinstance(value, list) else [value]  # multi-valued: each item
            wrong = [v for v in values if v is not None and (not _hashable(v) or v not in codes)]
            if wrong:
                found.add(f"item {f.get('id')!r}: {name} = {wrong[0]!r} is not a code of {name}")
    found.raise_if_any()
    return f"{len(profile.code_lists)} code list(s), every value a code"


async def _declared(t: Test) -> set[str]:
    return await api.declared(t)


async def _subjects(t: Test) -> list[str]:
    if not t.ctx.options.collection:
        raise CheckSkipped("no collection given (--collection)")
    return [t.ctx.options.collection]


HOOKS[PROFILE] = SuiteHooks(declared=_declared, subjects=_subjects, matches=exact_match)
