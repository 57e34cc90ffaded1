"""A WFS-T 2.0 test server: the real MapServer for reads, Transactions applied to PostGIS.

No real WFS-T 2.0 server is installable here (MapServer has no transactions), so this small
ASGI app stands in front of MapServer as one WFS 2.0:
- every request but a Transaction goes to MapServer unchanged (GET query string or POST
  body), so reads stay MapServer's. GetCapabilities gets the `Transaction` operation (DCP
  Post to this server), its `inputFormat` parameter, and the `ImplementsTransactionalWFS`
  constraint set to TRUE; the mapfile names this server as its online resource, so every
  URL MapServer writes points here;
- a POSTed `wfs:Transaction` (WFS 2.0.0/2.0.2, FES 2.0, GML 3.2) runs in ONE database
  transaction: any failing action rolls back all. `wfs:Insert` (idgen GenerateNew, the
  default: keys come from the table's identity, a feature's own key is ignored; UseExisting
  takes the key from gml:id `layer.N`), `wfs:Update` (wfs:Property/wfs:ValueReference/
  wfs:Value; a Property without Value sets NULL; without fes:Filter it updates all),
  `wfs:Replace` (a whole feature: properties it lacks become NULL), `wfs:Delete`, and
  `wfs:Native` with safeToIgnore="true". Filters: fes:ResourceId rid="layer.N" (any
  number) or one fes:PropertyIsEqualTo. Geometries: GML 3.2 Point, LineString, Polygon,
  MultiPoint, MultiCurve, MultiSurface in 2D; srsName from the geometry, else the action,
  else the Transaction, else the layer's CRS; EPSG URNs and http://www.opengis.net/def/crs
  names in the CRS's axis order (urn:ogc:def:crs:EPSG::4326 is lat/lon), `EPSG:n` x/y.
- the answer is a `wfs:TransactionResponse` (version 2.0.0) with the summary and the
  `fes:ResourceId rid="layer.N"` of inserted and replaced features, which is the gml:id
  MapServer gives the row; failures are an OWS 1.1 `ows:ExceptionReport` (HTTP 400) with
  WFS 2.0 exception codes, database errors on values as InvalidValue; an error that names
  no property names the failing action's handle as its locator.

Left out: locking (lockId is refused, releaseAction is only checked), idgen
ReplaceDuplicate, Update actions other than replace/remove, filters beyond the two above,
3D coordinates, several feature types, KVP Transactions (they go to MapServer, which
refuses them). The XML is parsed by connectors/remote/xml.py (no DOCTYPE, no entities).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import uvicorn
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.remote.xml import XMLRejected, local_name, namespace, parse_xml
from tests.connectors.wfst_actions import (
    FES,
    WFS,
    Layer,
    Statement,
    WFSError,
    column,
    feature_values,
    quote,
    rid_key,
    value_sql,
    where_sql,
)

OWS = "http://www.opengis.net/ows/1.1"
XLINK = "http://www.w3.org/1999/xlink"
XML_TYPE = "text/xml; charset=UTF-8"
INPUT_FORMATS = ("application/gml+xml; version=3.2", "text/xml; subtype=gml/3.2")
_DATA_ERRORS = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError)


def exception_report(error: WFSError) -> Response:
    report = etree.Element(f"{{{OWS}}}ExceptionReport", nsmap={"ows": OWS}, version="2.0.0")
    exc = etree.SubElement(report, f"{{{OWS}}}Exception", exceptionCode=error.code)
    if error.locator:
        exc.set("locator", error.locator)
    etree.SubElement(exc, f"{{{OWS}}}ExceptionText").text = error.text
    body = etree.tostring(report, xml_declaration=True, encoding="UTF-8")
    return Response(body, status_code=400, media_type=XML_TYPE)


class Transaction:
    """One wfs:Transaction applied through one connection."""

    def __init__(self, conn: asyncpg.Connection, layer: Layer, srs: str | None) -> None:
        self.conn, self.layer, self.srs = conn, layer, srs
        self.totals = {"Inserted": 0, "Updated": 0, "Replaced": 0, "Deleted": 0}
        self.inserted: list[tuple[str | None, int]] = []  # (handle, key)
        self.replaced: list[tuple[str | None, int]] = []

    async def run(self, action: etree._Element) -> None:
        """Apply one action; an error without a locator names the action's handle."""
        try:
            await self.apply(action)
        except WFSError as e:
            e.locator = e.locator or action.get("handle")
            raise

    async def apply(self, action: etree._Element) -> None:
        kind = local_name(action.tag) if namespace(action.tag) == WFS else ""
        if action.get("inputFormat") not in (None, *INPUT_FORMATS):
            raise WFSError("InvalidParameterValue", "GML 3.2 only", "inputFormat")
        srs = action.get("srsName") or self.srs
        if kind == "Insert":
            await self.insert(action, srs)
        elif kind in ("Update", "Delete"):
            self.check_type(action.get("typeName"), action)
            await (self.update(action, srs) if kind == "Update" else self.delete(action))
        elif kind == "Replace":
            await self.replace(action, srs)
        elif kind != "Native" or action.get("safeToIgnore") != "true":
            raise WFSError("OperationProcessingFailed", f"unsupported action {action.tag}")

    def check_type(self, type_name: str | None, el: etree._Element) -> None:
        if not type_name:
            raise WFSError("MissingParameterValue", "typeName is missing", "typeName")
        prefix, _, name = type_name.rpartition(":")
        if name != self.layer.name or el.nsmap.get(prefix or None) != self.layer.namespace:
            raise WFSError("InvalidParameterValue", f"unknown type '{type_name}'", "typeName")

    async def execute(self, sql: str, st: Statement) -> list[asyncpg.Record]:
        try:
            return await self.conn.fetch(sql, *st.args)
        except _DATA_ERRORS as e:
            raise WFSError("InvalidValue", str(e).splitlines()[0]) from e
        except asyncpg.PostgresError as e:
            raise WFSError("OperationProcessingFailed", str(e).splitlines()[0]) from e

    async def insert(self, action: etree._Element, srs: str | None) -> None:
        idgen = action.get("idgen", "GenerateNew")
        if idgen not in ("GenerateNew", "UseExisting"):
            raise WFSError("InvalidParameterValue", f"idgen {idgen} is not implemented", "idgen")
        table, key = quote(self.layer.table), quote(self.layer.key)
        for feature in (f for f in action if isinstance(f.tag, str)):
            st = Statement()
            values = feature_values(feature, self.layer, srs, st)
            if idgen == "UseExisting":
                gml_id = feature.get("{http://www.opengis.net/gml/3.2}id")
                values[self.layer.key] = st.arg(rid_key(gml_id, self.layer), "bigint")
            names = ", ".join(quote(c) for c in values)
            sql = (
                f"INSERT INTO {table} ({names}) VALUES ({', '.join(values.values())})"
                if values
                else f"INSERT INTO {table} DEFAULT VALUES"
            )
            rows = await self.execute(f"{sql} RETURNING {key}", st)
            self.inserted.append((action.get("handle"), rows[0][0]))
            self.totals["Inserted"] += 1

    def assignment(self, prop: etree._Element, srs: str | None, st: Statement) -> str | None:
        """`column = value` for a wfs:Property (None for the key, which is the server's)."""
        refs = [c for c in prop if c.tag == f"{{{WFS}}}ValueReference"]
        if len(refs) != 1:
            raise WFSError("MissingParameterValue", "wfs:ValueReference", "ValueReference")
        action = refs[0].get("action", "replace")
        if action not in ("replace", "remove"):
            raise WFSError("InvalidParameterValue", "replace or remove only", "action")
        col = column(refs[0].text or "", refs[0], self.layer)
        values = [c for c in prop if c.tag == f"{{{WFS}}}Value"] if action == "replace" else []
        if col == self.layer.key:
            return None
        return (
            f"{quote(col)} = {value_sql(values[0] if values else None, col, self.layer, srs, st)}"
        )

    async def update(self, action: etree._Element, srs: str | None) -> None:
        st = Statement()
        props = (p for p in action if p.tag == f"{{{WFS}}}Property")
        sets = [a for p in props if (a := self.assignment(p, srs, st)) is not None]
        if not sets:
            raise WFSError("MissingParameterValue", "an Update needs a wfs:Property", "Property")
        where = where_sql(action, self.layer, st, required=False)
        sql = f"UPDATE {quote(self.layer.table)} SET {', '.join(sets)} WHERE {where}"
        self.totals["Updated"] += len(await self.execute(f"{sql} RETURNING 1", st))

    async def replace(self, action: etree._Element, srs: str | None) -> None:
        features = [f for f in action if isinstance(f.tag, str) and namespace(f.tag) != FES]
        if len(features) != 1:
            raise WFSError("OperationParsingFailed", "a Replace holds one feature", "Replace")
        st = Statement()
        values = feature_values(features[0], self.layer, srs, st)
        others = (c for c in self.layer.columns if c not in values and c != self.layer.key)
        sets = [f"{quote(c)} = {v}" for c, v in values.items()] + [
            f"{quote(c)} = NULL" for c in others
        ]
        where = where_sql(action, self.layer, st, required=True)
        sql = f"UPDATE {quote(self.layer.table)} SET {', '.join(sets)} WHERE {where}"
        rows = await self.execute(f"{sql} RETURNING {quote(self.layer.key)}", st)
        self.replaced += [(action.get("handle"), row[0]) for row in rows]
        self.totals["Replaced"] += len(rows)

    async def delete(self, action: etree._Element) -> None:
        st = Statement()
        where = where_sql(action, self.layer, st, required=True)
        sql = f"DELETE FROM {quote(self.layer.table)} WHERE {where} RETURNING 1"
        self.totals["Deleted"] += len(await self.execute(sql, st))

    def response(self) -> bytes:
        root = etree.Element(
            f"{{{WFS}}}TransactionResponse", nsmap={"wfs": WFS, "fes": FES}, version="2.0.0"
        )
        summary = etree.SubElement(root, f"{{{WFS}}}TransactionSummary")
        for name, total in self.totals.items():
            etree.SubElement(summary, f"{{{WFS}}}total{name}").text = str(total)
        for name, results in (("InsertResults", self.inserted), ("ReplaceResults", self.replaced)):
            if results:
                holder = etree.SubElement(root, f"{{{WFS}}}{name}")
                for handle, key in results:
                    feature = etree.SubElement(holder, f"{{{WFS}}}Feature")
                    if handle:
                        feature.set("handle", handle)
                    etree.SubElement(
                        feature, f"{{{FES}}}ResourceId", rid=f"{self.layer.name}.{key}"
                    )
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def check_request(root: etree._Element) -> None:
    """The Transaction element's own attributes (service, version, locking)."""
    if root.get("service", "WFS") != "WFS":
        raise WFSError("InvalidParameterValue", "service must be WFS", "service")
    if root.get("version") not in ("2.0.0", "2.0.2"):
        raise WFSError("InvalidParameterValue", "version 2.0.0 or 2.0.2", "version")
    if root.get("releaseAction", "ALL") not in ("ALL", "SOME"):
        raise WFSError("InvalidParameterValue", "ALL or SOME", "releaseAction")
    if root.get("lockId") is not None:
        raise WFSError("InvalidParameterValue", "this server holds no locks", "lockId")


class TransactionServer:
    """The ASGI app: `/wfs` for everything, MapServer's WFS behind it."""

    def __init__(self, layer: Layer, dsn: str, mapserver_wfs: str, url: str) -> None:
        self.layer, self.dsn, self.mapserver_wfs, self.url = layer, dsn, mapserver_wfs, url
        self.pool: asyncpg.Pool | None = None
        self.http: httpx.AsyncClient | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.ready = threading.Event()
        self.app = Starlette(
            routes=[Route("/wfs", self.wfs, methods=["GET", "POST"])], lifespan=self.lifespan
        )

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.loop = asyncio.get_running_loop()
        self.pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=4)
        self.http = httpx.AsyncClient(timeout=60)
        self.ready.set()
        try:
            yield
        finally:
            await self.http.aclose()
            await self.pool.close()

    async def wfs(self, request: Request) -> Response:
        body = await request.body()
        if request.method == "GET":
            asked = {k.lower(): v for k, v in request.query_params.items()}.get("request", "")
            return await self.forward(request, body, asked.lower() == "getcapabilities")
        try:
            root = parse_xml(body)
        except XMLRejected as e:
            return exception_report(WFSError("OperationParsingFailed", str(e)))
        if local_name(root.tag) != "Transaction":
            return await self.forward(request, body, local_name(root.tag) == "GetCapabilities")
        try:
            if namespace(root.tag) != WFS:
                raise WFSError("OperationParsingFailed", f"not a WFS 2.0 Transaction: {root.tag}")
            return Response(await self.transact(root), media_type=XML_TYPE)
        except WFSError as e:
            return exception_report(e)

    async def transact(self, root: etree._Element) -> bytes:
        check_request(root)
        assert self.pool is not None
        async with self.pool.acquire() as conn, conn.transaction():
            transaction = Transaction(conn, self.layer, root.get("srsName"))
            for action in (a for a in root if isinstance(a.tag, str)):
                await transaction.run(action)
        return transaction.response()

    async def forward(self, request: Request, body: bytes, capabilities: bool) -> Response:
        assert self.http is not None
        url = httpx.URL(self.mapserver_wfs).copy_merge_params(
            list(request.query_params.multi_items())
        )
        headers = {"content-type": request.headers.get("content-type", XML_TYPE)} if body else {}
        answer = await self.http.request(request.method, url, content=body, headers=headers)
        content = answer.content
        if capabilities and answer.status_code == 200 and b"WFS_Capabilities" in content[:2000]:
            content = self.transactional(content)
        media = answer.headers.get("content-type", XML_TYPE)
        return Response(content, status_code=answer.status_code, media_type=media)

    def transactional(self, content: bytes) -> bytes:
        """MapServer's capabilities with the Transaction operation and constraint added."""
        root = parse_xml(content)
        meta = root.find(f"{{{OWS}}}OperationsMetadata")
        if meta is None:
            return content
        operations = meta.findall(f"{{{OWS}}}Operation")
        op = etree.Element(f"{{{OWS}}}Operation", name="Transaction")
        post = etree.SubElement(
            etree.SubElement(etree.SubElement(op, f"{{{OWS}}}DCP"), f"{{{OWS}}}HTTP"),
            f"{{{OWS}}}Post",
        )
        post.set(f"{{{XLINK}}}href", self.url)
        param = etree.SubElement(op, f"{{{OWS}}}Parameter", name="inputFormat")
        allowed = etree.SubElement(param, f"{{{OWS}}}AllowedValues")
        etree.SubElement(allowed, f"{{{OWS}}}Value").text = INPUT_FORMATS[0]
        operations[-1].addnext(op)
        constraint = meta.find(f"{{{OWS}}}Constraint[@name='ImplementsTransactionalWFS']")
        if constraint is None:
            constraint = etree.SubElement(
                meta, f"{{{OWS}}}Constraint", name="ImplementsTransactionalWFS"
            )
            etree.SubElement(constraint, f"{{{OWS}}}NoValues")
            etree.SubElement(constraint, f"{{{OWS}}}DefaultValue")
        constraint.find(f"{{{OWS}}}DefaultValue").text = "TRUE"
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


class Running:
    """The server on a listening loopback socket, in a thread of its own: requests queue on
    the socket until the app is ready."""

    def __init__(self, server: TransactionServer, sock: socket.socket) -> None:
        self.server = server
        config = uvicorn.Config(
            server.app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1
        )
        self.uvicorn = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.uvicorn.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        if not server.ready.wait(30):
            self.stop()
            raise RuntimeError("the WFS-T test server did not start within 30 s")

    def call(self, coroutine: Any) -> Any:
        """Run a coroutine on the server's loop (its pool lives there) and wait for it."""
        assert self.server.loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self.server.loop).result(30)

    def stop(self) -> None:
        self.uvicorn.should_exit = True
        self.thread.join(10)


__all__ = ["Running", "Transaction", "TransactionServer", "exception_report"]
