"""Part 1 Core: landing page, API definition, conformance declaration (Abstract tests
A.2.1–A.2.4 of OGC 17-069r4 and OGC's ETS: LandingPage, ApiDefinition, Conformance)."""

from __future__ import annotations

from conformance.context import Problems, Test, expect, expect_status
from conformance.features import api
from conformance.features import links as L
from conformance.features.names import CORE, HTML, JSON, OPENAPI_JSON, core
from conformance.features.schemas import CONF_CLASSES, LANDING_PAGE, problems
from conformance.registry import FEATURES, check

HTTP = core("http", "The server SHALL conform to HTTP 1.1")
ROOT_OP = core("root-op", "The server SHALL support HTTP GET at the path /")
ROOT_SUCCESS = core(
    "root-success",
    "The landing page SHALL answer 200, follow landingPage.yaml and link to the API "
    "definition (service-desc or service-doc), /conformance (conformance) and /collections (data)",
)
API_OP = core(
    "api-definition-op", "The API definitions linked from the landing page SHALL support GET"
)
API_SUCCESS = core(
    "api-definition-success",
    "GET on an API definition with the link's type as Accept SHALL return a document of that "
    "media type",
)
CONF_OP = core("conformance-op", "The server SHALL support HTTP GET at the path /conformance")
CONF_SUCCESS = core(
    "conformance-success",
    "/conformance SHALL answer 200 with confClasses.yaml content listing the classes implemented",
)


@check(HTTP, "core/http", "GET and HEAD on the landing page over HTTP/1.1", suite=FEATURES)
async def http_1_1(t: Test) -> str:
    got = await api.landing_fetch(t)
    expect(got.http_version == "HTTP/1.1", f"the server answered with {got.http_version}")
    head = await t.request("HEAD", t.ctx.target, headers={"Accept": JSON})
    expect(
        head.status == got.status,
        f"HEAD {head.url} answered {head.status} where GET answered {got.status} "
        "(RFC 7231 4.3.2: HEAD is GET without a body; general-purpose servers MUST support it)",
    )
    expect(not head.content, f"HEAD {head.url} answered with a body of {len(head.content)} bytes")
    return f"{got.http_version}, GET and HEAD both answer {got.status}"


@check(ROOT_OP, "core/root-op", "GET / with Accept: application/json answers 200", suite=FEATURES)
async def root_op(t: Test) -> str:
    expect_status(await api.landing_fetch(t), 200)
    return "200 OK"


@check(ROOT_SUCCESS, "core/root-success", "landing page content and links", suite=FEATURES)
async def root_success(t: Test) -> str:
    doc = await api.landing(t)
    found = Problems()
    for p in problems(LANDING_PAGE, doc):
        found.add(f"landingPage.yaml: {p}")
    rels = {x.get("rel") for x in L.links_of(doc)}
    found.check(rels & {"service-desc", "service-doc"}, "no link with rel service-desc/service-doc")
    found.check("conformance" in rels, "no link with rel conformance")
    found.check("data" in rels, "no link with rel data")
    found.raise_if_any("the landing page")
    return "links to the API definition, conformance and collections"


@check(
    ROOT_SUCCESS,
    "core/root-success-targets",
    "the landing page's conformance, data and API links lead to those resources",
    suite=FEATURES,
    beyond_cite=True,
)
async def root_link_targets(t: Test) -> str:
    doc = await api.landing(t)
    base = (await api.landing_fetch(t)).url
    found = Problems()
    expected = {"conformance": "conformsTo", "data": "collections"}
    for rel, member in expected.items():
        for link in L.find(L.links_of(doc), rel):
            want = L.base_type(link.get("type"))
            target = await t.get(L.resolve(link, base), accept=link.get("type") or JSON)
            ok = target.status == 200 and target.media_type == (want or JSON)
            if ok and target.media_type == JSON:
                ok = isinstance(target.json(), dict) and member in target.json()
            problem = f"answered {target.status} {target.media_type!r}"
            found.check(ok, f"{L.describe(link)} {problem}, not {want or JSON} with '{member}'")
    found.raise_if_any("landing page links")
    return "conformance and data links lead to the conformance and collections documents"


async def _definitions(t: Test) -> list[dict]:
    doc = await api.landing(t)
    links = L.find(L.links_of(doc), ("service-desc", "service-doc"))
    expect(links, "the landing page links to no API definition (service-desc or service-doc)")
    return links


@check(API_OP, "core/api-definition-op", "each linked API definition answers GET", suite=FEATURES)
async def api_definition_op(t: Test) -> str:
    base = (await api.landing_fetch(t)).url
    found = Problems()
    links = await _definitions(t)
    for link in links:
        got = await t.get(L.resolve(link, base), accept=link.get("type") or "*/*")
        found.check(got.status == 200, f"{L.describe(link)} answered {got.status}")
    found.raise_if_any("API definition")
    return f"{len(links)} API definition link(s) answer 200"


@check(
    API_SUCCESS,
    "core/api-definition-success",
    "each API definition comes in the media type its link announces",
    suite=FEATURES,
)
async def api_definition_success(t: Test) -> str:
    base = (await api.landing_fetch(t)).url
    found = Problems()
    for link in await _definitions(t):
        wanted = L.base_type(link.get("type"))
        got = await t.get(L.resolve(link, base), accept=link.get("type") or "*/*")
        if got.status != 200:
            continue  # reported by api-definition-op
        if wanted and got.media_type != wanted:
            found.add(f"{L.describe(link)}: Content-Type is {got.media_type!r}")
        elif L.same_type(link.get("type"), OPENAPI_JSON) or wanted.endswith("json"):
            body = got.json()
            if L.same_type(link.get("type"), OPENAPI_JSON):
                found.check(
                    isinstance(body, dict) and str(body.get("openapi", "")).startswith("3.0"),
                    f"{L.describe(link)}: not an OpenAPI 3.0 document",
                )
        elif wanted == HTML:
            found.check("<html" in got.text.lower(), f"{L.describe(link)}: not an HTML page")
    found.raise_if_any("API definition")
    return "every API definition is served in its announced media type"


@check(CONF_OP, "core/conformance-op", "GET /conformance answers 200", suite=FEATURES)
async def conformance_op(t: Test) -> str:
    expect_status(await api.conformance_fetch(t), 200)
    return "200 OK"


@check(
    CONF_SUCCESS,
    "core/conformance-success",
    "conformsTo lists the classes, including Part 1 Core",
    suite=FEATURES,
)
async def conformance_success(t: Test) -> str:
    fetched = await api.conformance_fetch(t)
    expect_status(fetched, 200)
    doc = fetched.json()
    found = Problems()
    for p in problems(CONF_CLASSES, doc):
        found.add(f"confClasses.yaml: {p}")
    classes = doc.get("conformsTo") if isinstance(doc, dict) else None
    if isinstance(classes, list):
        found.check(CORE.uri in classes, f"conformsTo does not contain {CORE.uri}")
    found.raise_if_any("/conformance")
    return f"{len(classes or [])} classes declared, Part 1 Core among them"
