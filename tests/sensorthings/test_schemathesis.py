"""schemathesis over the SensorThings documents of the demo (the federated view and each
tenant's service, read-only as the demo is without its API key), in process: all phases
and all default checks, no 5xx and no failed check.

Run time on 2 cores: see the line each test prints (cases per document and seconds).
"""

from __future__ import annotations

import time

import pytest
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from tests.schemathesis_run import Tolerated, run

MAX_EXAMPLES = 5
# What JSON Schema cannot say; the option descriptions in the document say it instead.
TOLERATED = (
    Tolerated("OData grammar of $filter", "ST202", 400, r"^\$filter: "),
    Tolerated("OData grammar of $expand", "ST202", 400, r"^\$expand: "),
    Tolerated("OData grammar of $orderby", "ST202", 400, r"^\$orderby: "),
    Tolerated(
        "federated sorted paging depth ($skip with $orderby)",
        "ST202",
        400,
        r"^\$skip: with \$orderby the federated view pages up to",
    ),
    # A read-only service answers writes 403 (as its tests and the conformance suite expect),
    # where schemathesis wants 405 for a method the document does not list.
    Tolerated("writes to a read-only service are 403", "ST204", 403, r"is read-only$"),
)


@pytest.mark.parametrize("root", ["/sta/v1.1", "/hamburg/sta/v1.1", "/leipzig/sta/v1.1"])
def test_the_sensorthings_documents_describe_the_server(
    demo_client: TestClient, root: str, capsys: pytest.CaptureFixture[str]
):
    started = time.monotonic()
    outcome = run(demo_client.app, f"{root}/api", max_examples=MAX_EXAMPLES, tolerated=TOLERATED)
    with capsys.disabled():
        seconds = time.monotonic() - started
        print(f"\n{outcome.summary(root + '/api')} in {seconds:.0f} s")
    assert outcome.cases > 300
    assert not outcome.errors, outcome.errors
    assert outcome.server_errors == 0
    assert not outcome.failures, "\n".join(outcome.failures[:20])


@pytest.mark.parametrize("root", ["/sta/v1.1", "/hamburg/sta/v1.1"])
def test_each_service_publishes_a_valid_openapi_document(demo_client: TestClient, root: str):
    response = demo_client.get(f"{root}/api")
    assert response.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"
    doc = response.json()
    validate(doc)
    assert doc["servers"] == [{"url": f"http://testserver{root}"}]
    assert "/Things({id})/Datastreams/$ref" in doc["paths"]
    assert "post" not in doc["paths"]["/Things"]  # the demo is read-only without its key


def test_found_by_schemathesis_answered_in_the_sta_shape(demo_client: TestClient):
    # $resultFormat on another set was a 500; an id with a newline fell through to the
    # Features routes and their error shape.
    things = demo_client.get("/hamburg/sta/v1.1/Things?$resultFormat=dataArray")
    assert things.status_code == 400 and things.json()["type"] == "error"
    newline = demo_client.get("/hamburg/sta/v1.1/Things('a%0Ab')/name")
    assert newline.status_code == 404 and newline.json()["type"] == "error"
