"""Part 1 OpenAPI 3.0 requirements class (ETS ApiDefinition validates the document; the
completeness tests here compare what the server actually answered with what its API
definition says)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, unquote

from conformance.context import Problems, Test, expect
from conformance.features import api
from conformance.features import links as L
from conformance.features import openapi as oas
from conformance.features.feature import feature_fetch, first_feature_id
from conformance.features.names import GEOJSON, HTML, JSON, OAS30, OPENAPI_JSON, part1
from conformance.http import Fetched
from conformance.model import Blocked
from conformance.registry import FEATURES, check

OAS_DEFINITION_1 = part1(
    OAS30,
    "oas30/oas-definition-1",
    "The landing page SHALL link the API definition as service-desc "
    "(application/vnd.oai.openapi+json;version=3.0) and service-doc (text/html)",
)
OAS_DEFINITION_2 = part1(
    OAS30, "oas30/oas-definition-2", "The JSON API definition SHALL conform to OpenAPI 3.0"
)
OAS_IMPL = part1(
    OAS30, "oas30/oas-impl", "The server SHALL implement everything its API definition specifies"
)
COMPLETENESS = part1(
    OAS30,
    "oas30/completeness",
    "The API definition SHALL specify every status code and response the server uses",
)
EXCEPTION_CODES = part1(
    OAS30,
    "oas30/exceptions-codes",
    "The API definition SHALL cover the status codes of the error situations",
)
NEEDS = (OAS30.uri,)


@check(
    OAS_DEFINITION_1,
    "oas30/oas-definition-1",
    "service-desc and service-doc links",
    suite=FEATURES,
    needs=NEEDS,
)
async def definition_links(t: Test) -> str:
    links = L.links_of(await api.landing(t))
    found = Problems()
    found.check(
        L.find(links, "service-desc", OPENAPI_JSON), f"no service-desc link of type {OPENAPI_JSON}"
    )
    docs = [x for x in L.find(links, "service-doc") if L.base_type(x.get("type")) == HTML]
    found.check(docs, "no service-doc link of type text/html")
    found.raise_if_any("the landing page")
    return "both links present"


STUBS: dict[str, dict[str, Any]] = {
    "response": {"description": "(remote definition, not fetched)"},
    "parameter": {"name": "remote-parameter", "in": "query", "schema": {}},
}


def local_only(node: Any, role: str = "") -> tuple[Any, list[str]]:
    """A copy with remote `$ref`s replaced (the suite fetches nothing but the server under
    test): OGC's own Part 1 parameters by their definitions, anything else by a neutral
    stub; and the roles of the stubs."""
    if isinstance(node, list):
        pairs = [local_only(x, "parameter" if role == "parameters" else "") for x in node]
        return [p[0] for p in pairs], [r for p in pairs for r in p[1]]
    if not isinstance(node, dict):
        return node, []
    ref = node.get("$ref")
    if isinstance(ref, str) and not ref.startswith("#"):
        known = oas.known_remote(ref)
        if known is not None:
            return dict(known), []
        stub = dict(STUBS.get(role, {}))
        if role == "parameter":
            stub["name"] = f"remote-{abs(hash(ref))}"
        return stub, [role or "schema"]
    out, stubbed = {}, []
    for key, value in node.items():
        if key in ("responses", "parameters"):
            child = key
        else:
            child = "response" if role == "responses" else ""
        out[key], found = local_only(value, child)
        stubbed += found
    return out, stubbed


def _validate(doc: dict[str, Any]) -> tuple[list[str], int]:
    local, stubbed = local_only(doc)
    try:
        from openapi_spec_validator import OpenAPIV30SpecValidator
    except ImportError:  # pragma: no cover - a trimmed install
        ok = str(doc.get("openapi", "")).startswith("3.0") and isinstance(doc.get("info"), dict)
        return ([] if ok else ["not an OpenAPI 3.0 document (openapi/info missing)"]), len(stubbed)
    found = []
    for e in OpenAPIV30SpecValidator(local).iter_errors():
        if "parameter" in stubbed and "Path parameter" in e.message:
            continue  # declared by a remote parameter definition the suite did not read
        found.append(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message[:200]}")
    return found, len(stubbed)


@check(
    OAS_DEFINITION_2,
    "oas30/oas-definition-2",
    "the API definition validates as OpenAPI 3.0",
    suite=FEATURES,
    needs=NEEDS,
)
async def definition_valid(t: Test) -> str:
    doc = await api.api_definition(t)
    expect(str(doc.get("openapi", "")).startswith("3.0."), f"openapi is {doc.get('openapi')!r}")
    found = Problems(limit=6)
    problems, remote = _validate(doc)
    for problem in problems:
        found.add(problem)
    found.raise_if_any("OpenAPI 3.0 validation")
    note = f" ({remote} remote references not followed)" if remote else ""
    return f"valid OpenAPI {doc['openapi']} with {len(doc.get('paths') or {})} paths{note}"


async def _exchanges(t: Test, cid: str) -> list[Fetched]:
    return [
        await api.landing_fetch(t),
        await api.conformance_fetch(t),
        await api.collections_fetch(t),
        await api.collection_fetch(t, cid),
        await api.first_page_fetch(t, cid),
        await feature_fetch(t),
    ]


def _undeclared(doc: dict, landing: str, got: Fetched) -> str | None:
    template = oas.find_path(doc, landing, got.url)
    if template is None or oas.operation(doc, template) is None:
        return f"{got.url}: no GET operation in the API definition"
    if not oas.declares_status(doc, template, got.status):
        return f"{template}: answered {got.status}, which the operation does not declare"
    declared = oas.responses(doc, template)
    response = declared.get(str(got.status)) or declared.get("default")
    types = oas.response_media_types(doc, response)
    if got.status == 200 and types and got.media_type not in types:
        return f"{template}: answered {got.media_type}, the 200 response declares {sorted(types)}"
    return None


@check(
    COMPLETENESS,
    "oas30/completeness",
    "responses of the core resources are declared (status and media type)",
    suite=FEATURES,
    needs=NEEDS,
    per_collection=True,
    beyond_cite=True,
)
async def completeness(t: Test) -> str:
    doc = await api.api_definition(t)
    landing = (await api.landing_fetch(t)).url
    found = Problems()
    exchanges = await _exchanges(t, t.collection)
    for got in exchanges:
        problem = _undeclared(doc, landing, got)
        if problem:
            found.add(problem)
    found.raise_if_any()
    return f"{len(exchanges)} responses match the API definition"


@check(
    EXCEPTION_CODES,
    "oas30/exceptions-codes",
    "the 400 and 404 the server answers are declared",
    suite=FEATURES,
    needs=NEEDS,
    per_collection=True,
    beyond_cite=True,
)
async def exception_codes(t: Test) -> str:
    doc = await api.api_definition(t)
    landing = (await api.landing_fetch(t)).url
    items = api.items_url(t, t.collection)
    bad = await t.get(items, params={"limit": "unlimited"}, accept=GEOJSON)
    missing = await t.get(f"{items}/no-such-feature-4711", accept=GEOJSON)
    found = Problems()
    for got in (bad, missing):
        if 400 <= got.status < 500:
            problem = _undeclared(doc, landing, got)
            if problem:
                found.add(problem)
    found.raise_if_any()
    return f"{bad.status} and {missing.status} are declared"


async def _fill(t: Test, template: str) -> str | None:
    """A concrete path for a template, or None when a parameter cannot be filled."""
    if "{" not in template:
        return template
    cid = (await api.feature_collection_ids(t))[0]
    path = re.sub(r"/collections/\{[^}/]+\}", "/collections/" + quote(cid, safe=""), template)
    if re.search(r"/items/\{[^}/]+\}", path):
        # a path naming its collection (/collections/land-use-plans/items/{featureId}) takes
        # a feature of that collection, not of the first one
        named = re.search(r"/collections/([^/{}]+)/items/\{", path)
        owner = unquote(named.group(1)) if named else cid
        try:
            fid = str(await first_feature_id(_as_collection(t, owner)))
        except Blocked:
            return None
        path = re.sub(r"/items/\{[^}/]+\}", "/items/" + quote(fid, safe=""), path)
    return None if "{" in path else path


def _as_collection(t: Test, cid: str) -> Test:
    other = Test(t.ctx, t.check, cid)
    other.http = t.http
    return other


@check(
    OAS_IMPL,
    "oas30/oas-impl",
    "every GET path of the API definition answers 200",
    suite=FEATURES,
    needs=NEEDS,
    beyond_cite=True,
)
async def implemented(t: Test) -> str:
    doc = await api.api_definition(t)
    landing = (await api.landing_fetch(t)).url
    base = oas.server_bases(doc, landing)[0]
    found = Problems()
    tried = 0
    for template in list(doc.get("paths") or {})[:60]:
        op = oas.operation(doc, template)
        try:
            path = await _fill(t, template) if op else None
        except Blocked:
            path = None  # no collection or feature to fill in: nothing to try
        if path is None:
            continue
        declared = oas.responses(doc, template)
        types = oas.response_media_types(doc, declared.get("200")) or {JSON}
        accept = JSON if JSON in types else GEOJSON if GEOJSON in types else next(iter(types))
        got = await t.get(base + path, accept=accept)
        tried += 1
        found.check(got.status == 200, f"GET {got.url} answered {got.status}")
    found.raise_if_any()
    return f"{tried} GET paths answer 200"
