"""OGC API – Features Part 4 against a real PostGIS table behind the street-trees mapping:
what a client writes reads back through the profile, units and codes are stored in the
city's terms, and every refusal leaves the table as it was."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
from starlette.testclient import TestClient

from tests.conftest import free_port
from tests.features.write_fixtures import MAPPING, READER, WRITE, WRITER, access, client_for, tree
from tests.postgis_fixtures import PostGIS, make, postgis_fixture  # noqa: F401

pytestmark = pytest.mark.integration
ITEMS = "/pg/collections/baeume/items"
SETUP = """
DROP TABLE IF EXISTS schreib_baeume;
CREATE TABLE schreib_baeume (
  baum_nr serial PRIMARY KEY,
  art text NOT NULL, art_de text, gattung_code text, pflanzjahr smallint,
  hoehe_cm integer, krone_r numeric(6,3), umfang_cm integer, bezirk text,
  strasse text, hausnr text, stand date,
  geom geometry(Point, 25832));
INSERT INTO schreib_baeume (art, art_de, gattung_code, pflanzjahr, hoehe_cm, krone_r, umfang_cm,
  bezirk, strasse, hausnr, stand, geom)
VALUES ('Quercus robur', 'Stiel-Eiche', 'QU', 1975, 2000, 6.05, 210, 'Mitte', 'Jungfernstieg',
  '1', '2023-11-15', ST_SetSRID(ST_MakePoint(566000, 5934000), 25832));
"""


async def _sql(dsn: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        if ";" in sql:
            return await conn.execute(sql)
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def rows(db: PostGIS, where: str = "true") -> list[dict[str, Any]]:
    found = asyncio.run(_sql(db.dsn, f"SELECT * FROM schreib_baeume WHERE {where} ORDER BY 1"))
    return [dict(r) for r in found]


@pytest.fixture(scope="module")
def client(postgis: PostGIS, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    asyncio.run(_sql(postgis.dsn, SETUP))
    source = {"connector": "postgis", **postgis.options("schreib_baeume"), "writable": True}
    read_only = {**source, "writable": False}
    tenants = {
        "pg": {
            "access": access(),
            "collections": {
                "baeume": {"profile": "street-trees", "source": source, "mapping": MAPPING}
            },
        },
        "ro": {
            "access": access(),
            "collections": {
                "baeume": {"profile": "street-trees", "source": read_only, "mapping": MAPPING}
            },
        },
    }
    with client_for(tenants, tmp_path_factory.mktemp("pg")) as c:
        yield c


def create(client: TestClient, feature: dict[str, Any], **headers: str) -> Any:
    return client.post(ITEMS, content=orjson.dumps(feature), headers={**WRITE, **headers})


def test_a_created_tree_reads_back_through_the_profile_and_is_stored_in_city_units(
    client: TestClient, postgis: PostGIS
) -> None:
    answer = create(client, tree())
    assert answer.status_code == 201, answer.text
    location = answer.headers["location"]
    assert location.startswith("http://testserver/pg/collections/baeume/items/")
    read = client.get(location)
    assert read.status_code == 200
    assert read.headers["etag"] == answer.headers["etag"]
    feature = read.json()
    assert feature["properties"] == tree()["properties"]
    assert feature["geometry"]["coordinates"] == pytest.approx([9.95, 53.55], abs=1e-9)
    (row,) = rows(postgis, f"baum_nr = {feature['id']}")
    assert (row["hoehe_cm"], float(row["krone_r"]), row["gattung_code"]) == (1250, 4.15, "TI")
    assert row["strasse"] is None and str(row["stand"]) == "2024-03-01"


def test_a_feature_in_the_declared_content_crs_is_stored_where_it_is(
    client: TestClient, postgis: PostGIS
) -> None:
    feature = tree()
    feature["geometry"]["coordinates"] = [566100.0, 5934100.0]
    answer = create(
        client, feature, **{"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/25832>"}
    )
    assert answer.status_code == 201, answer.text
    fid = answer.headers["location"].rsplit("/", 1)[-1]
    found = asyncio.run(
        _sql(
            postgis.dsn,
            "SELECT ST_X(geom) x, ST_Y(geom) y FROM schreib_baeume WHERE baum_nr = $1",
            int(fid),
        )
    )
    assert (found[0]["x"], found[0]["y"]) == pytest.approx((566100.0, 5934100.0), abs=1e-6)
    refused = create(
        client, tree(), **{"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/3035>"}
    )
    assert refused.status_code == 400 and "Content-Crs" in refused.json()["description"]


def test_schema_errors_are_all_listed_and_nothing_is_written(
    client: TestClient, postgis: PostGIS
) -> None:
    before = len(rows(postgis))
    answer = create(client, tree(genus="Pinus", planting_year=1700))
    assert answer.status_code == 400
    text = answer.json()["description"]
    assert "genus" in text and "planting_year" in text
    assert len(rows(postgis)) == before


def test_a_property_the_mapping_cannot_store_is_refused_by_name(
    client: TestClient, postgis: PostGIS
) -> None:
    before = len(rows(postgis))
    street = create(client, tree(street="Elbchaussee 1"))
    assert street.status_code == 400
    assert street.json()["description"].startswith("street:")
    assert "template" in street.json()["description"]
    inexact = create(client, tree(height_m=12.345))  # 1234.5 cm into an integer column
    assert inexact.status_code == 400 and inexact.json()["description"].startswith("height_m:")
    assert len(rows(postgis)) == before


def test_replace_patch_and_delete_with_optimistic_locking(
    client: TestClient, postgis: PostGIS
) -> None:
    created = create(client, tree())
    url, etag = created.headers["location"], created.headers["etag"]
    replaced = tree(height_m=14.0, genus="Acer", species_scientific="Acer platanoides")
    put = client.put(url, content=orjson.dumps(replaced), headers={**WRITE, "If-Match": etag})
    assert put.status_code == 204, put.text
    assert client.get(url).json()["properties"] == replaced["properties"]
    stale = client.put(url, content=orjson.dumps(tree()), headers={**WRITE, "If-Match": etag})
    assert stale.status_code == 412
    assert client.get(url).json()["properties"]["genus"] == "Acer"
    patch = client.patch(
        url,
        content=b'{"properties": {"height_m": 15.5}}',
        headers={
            **WRITE,
            "Content-Type": "application/merge-patch+json",
            "If-Match": put.headers["etag"],
        },
    )
    assert patch.status_code == 204, patch.text
    after = client.get(url).json()["properties"]
    assert after == {**replaced["properties"], "height_m": 15.5}
    broken = client.patch(
        url,
        content=b'{"properties": {"genus": null}}',
        headers={**WRITE, "Content-Type": "application/merge-patch+json"},
    )
    assert broken.status_code == 400 and "genus" in broken.json()["description"]
    fid = url.rsplit("/", 1)[-1]
    assert rows(postgis, f"baum_nr = {fid}")[0]["gattung_code"] == "AC"
    gone = client.delete(url, headers={"X-API-Key": WRITER, "If-Match": "*"})
    assert gone.status_code == 204
    assert client.get(url).status_code == 404
    assert client.delete(url, headers={"X-API-Key": WRITER}).status_code == 404
    assert rows(postgis, f"baum_nr = {fid}") == []


def test_an_existing_id_is_a_conflict(client: TestClient) -> None:
    answer = create(client, {**tree(), "id": 1})
    assert answer.status_code == 409


def test_writes_need_the_write_scope_and_every_attempt_is_audited(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="twinbridge.audit"):
        anonymous = client.post(
            ITEMS, content=orjson.dumps(tree()), headers={"Content-Type": "application/geo+json"}
        )
        reader = create(client, tree(), **{"X-API-Key": READER})
    assert anonymous.status_code == 401 and "www-authenticate" in anonymous.headers
    assert reader.status_code == 403
    lines = [r.getMessage() for r in caplog.records if r.name == "twinbridge.audit"]
    assert any("principal=anonymous action=create" in line and "401" in line for line in lines)
    assert any("principal=key:viewer action=create" in line and "403" in line for line in lines)
    assert not any(READER in line or WRITER in line for line in lines)


def test_read_only_and_federated_collections_answer_405_with_allow(client: TestClient) -> None:
    for url in ("/ro/collections/baeume/items", "/collections/street-trees/items"):
        answer = client.post(url, content=orjson.dumps(tree()), headers=WRITE)
        assert answer.status_code == 405, url
        assert answer.headers["allow"] == "GET, HEAD, POST"  # POST: the search
    put = client.put("/collections/street-trees/items/1", content=b"{}", headers=WRITE)
    assert put.status_code == 405 and put.headers["allow"] == "GET, HEAD"
    for url, allow in (
        ("/pg/collections/baeume/items/1", "GET, HEAD, PUT, PATCH, DELETE"),
        ("/ro/collections/baeume/items/1", "GET, HEAD"),
        ("/pg/collections/baeume/items", "GET, HEAD, POST"),
    ):
        options = client.options(url)  # the CORS layer turns the route's 405 into a 204
        assert (options.status_code, options.headers["allow"]) == (204, f"{allow}, OPTIONS")
        trace = client.request("TRACE", url)
        assert (trace.status_code, trace.headers["allow"]) == (405, allow), url


def test_part_4_is_declared_only_where_a_collection_can_write(client: TestClient) -> None:
    crd = "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete"
    assert crd in client.get("/pg/conformance").json()["conformsTo"]
    assert crd not in client.get("/ro/conformance").json()["conformsTo"]
    assert crd not in client.get("/conformance").json()["conformsTo"]
    writable = client.get("/pg/api").json()["paths"]
    assert "201" in writable["/collections/baeume/items"]["post"]["responses"]
    assert {"put", "patch", "delete"} <= set(writable["/collections/baeume/items/{featureId}"])
    read_only = client.get("/ro/api").json()["paths"]
    assert "put" not in read_only["/collections/baeume/items/{featureId}"]
    assert "createFeature_baeume" not in str(client.get("/api").json())


def test_bad_bodies_are_4xx_never_500(client: TestClient) -> None:
    assert create(client, tree(), **{"Content-Type": "text/plain"}).status_code == 415
    bad = client.post(ITEMS, content=b"{not json", headers=WRITE)
    assert bad.status_code == 400
    for body in (
        b"[]",
        b'{"type": "Point"}',
        b'{"type": "Feature", "geometry": {"type": "Point"}}',
    ):
        assert client.post(ITEMS, content=body, headers=WRITE).status_code == 400, body
    huge = client.post(ITEMS, content=b" " * (2 << 20), headers=WRITE)
    assert huge.status_code == 413
    assert create(client, {**tree(), "id": "abc"}).status_code == 400  # an integer key
    nul = create(client, tree(species_german="Winter\x00Linde"))  # PostgreSQL refuses NUL
    assert nul.status_code == 400, nul.text
    far = tree()
    far["geometry"]["coordinates"] = [200.0, 53.0]
    assert create(client, far).status_code == 400


def test_a_cql2_json_post_is_still_a_search(client: TestClient) -> None:
    body = {"op": "=", "args": [{"property": "genus"}, "Quercus"]}
    answer = client.post(
        ITEMS, content=orjson.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 200
    assert {f["properties"]["genus"] for f in answer.json()["features"]} == {"Quercus"}


def test_the_item_etag_changes_with_the_item(client: TestClient, tmp_path: Path) -> None:
    created = create(client, tree())
    url = created.headers["location"]
    first = client.get(url).headers["etag"]
    assert client.get(url).headers["etag"] == first
    assert client.get(url, headers={"If-None-Match": first}).status_code == 304
    patch = client.patch(url, content=b'{"properties": {"planting_year": 1991}}', headers=WRITE)
    assert patch.status_code == 204
    assert client.get(url).headers["etag"] not in (first, None)
    assert client.get(url, headers={"If-None-Match": first}).status_code == 200


def test_if_match_is_checked_again_inside_the_transaction(postgis: PostGIS) -> None:
    """Two writers holding the same version: the row lock orders them, and the second
    finds the record changed (412) instead of overwriting the first one's write."""

    async def race() -> list[Any]:
        connector = make(postgis, "schreib_baeume", writable=True)
        await connector.open()
        try:
            assert connector.writable()
            props = {"art": "Tilia cordata", "hoehe_cm": 100}
            fid = await connector.create({"id": None, "properties": props, "geometry": None})
            original = await connector.get(fid)
            assert original is not None

            def unchanged(stored: dict[str, Any]) -> bool:
                return bool(stored["properties"] == original["properties"])

            writes = [
                connector.write_if("update", fid, {"properties": {"hoehe_cm": n}}, unchanged)
                for n in (200, 300)
            ]
            return list(await asyncio.gather(*writes, return_exceptions=True))
        finally:
            await connector.close()

    results = asyncio.run(race())
    assert sorted(type(r).__name__ for r in results) == ["SourceStale", "bool"]
    assert True in results


def test_a_table_the_user_may_not_write_is_not_writable(postgis: PostGIS) -> None:
    role = f"nur_lesen_{postgis.database[-8:]}"  # roles are the server's: one per test run

    async def check() -> bool:
        await _sql(
            postgis.dsn,
            f"CREATE ROLE {role} LOGIN; GRANT SELECT ON schreib_baeume TO {role};",
        )
        connector = make(postgis, "schreib_baeume", writable=True, user=role)
        try:
            await connector.open()
            return connector.writable()
        finally:
            await connector.close()
            await _sql(postgis.dsn, f"REVOKE ALL ON schreib_baeume FROM {role}; DROP ROLE {role};")

    assert asyncio.run(check()) is False


def test_a_writable_source_that_is_down_answers_502_not_405(tmp_path: Path) -> None:
    source = {
        "connector": "postgis",
        "host": "127.0.0.1",
        "port": free_port(),  # nothing listens there
        "database": "nowhere",
        "table": "schreib_baeume",
        "writable": True,
        "connect_timeout": 1,
    }
    collection = {"profile": "street-trees", "source": source, "mapping": MAPPING}
    tenants = {"pg": {"access": access(), "collections": {"baeume": collection}}}
    with client_for(tenants, tmp_path) as client:
        answer = create(client, tree())
    assert answer.status_code == 502
    assert "pg/baeume" in answer.json()["description"]
