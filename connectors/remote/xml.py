"""The one way upstream XML is parsed: a hardened lxml parser, and DOCTYPE refused outright.

Upstream XML (WFS capabilities, schemas, GML, exception reports) is untrusted input. A
DOCTYPE is how every classic XML attack arrives (billion laughs, external entities reading
local files or reaching the network), and no OGC document needs one, so a document that
declares one is refused before anything else is read. The parser itself loads no DTD,
resolves no entity, never touches the network and keeps libxml2's limits on tree depth and
text size (no huge_tree). Inputs beyond a size limit are refused unread.

Always pass one of these parsers explicitly: OWSLib replaces lxml's process-global default
parser on import, so `etree.fromstring(data)` without a parser means whatever was imported
last. Hand OWSLib and other libraries parsed elements or bytes already checked here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree

DEFAULT_LIMIT = 16 * 1024 * 1024  # bytes; metadata documents are far smaller

OWS_NAMESPACES = (
    "http://www.opengis.net/ows/1.1",
    "http://www.opengis.net/ows/2.0",
    "http://www.opengis.net/ows",
)
_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}
# the prolog: an optional BOM, whitespace, XML declaration, comments, processing instructions
_PROLOG_ITEM = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
_BOM = b"\xef\xbb\xbf"
_MAX_PROLOG = 64 * 1024


class XMLRejected(ValueError):
    """The document is not acceptable XML (a DOCTYPE, malformed, too large)."""


def parser() -> etree.XMLParser:
    """A fresh hardened parser (lxml parsers are not safe to share between threads)."""
    return etree.XMLParser(**_PARSER_OPTIONS)


def pull_parser(
    events: Iterable[str] = ("end",), tag: str | Iterable[str] | None = None
) -> etree.XMLPullParser:
    """A hardened incremental parser for documents read as a stream (GML pages); feed it
    only after `check_prolog` accepted the start of the stream."""
    return etree.XMLPullParser(events=tuple(events), tag=tag, **_PARSER_OPTIONS)


def check_prolog(head: bytes) -> bool:
    """True when the prolog of `head` (the first bytes of a document) ends at the root
    element without a DOCTYPE; False when more bytes are needed to tell. Raises XMLRejected
    on a DOCTYPE or anything else before the root element."""
    pos = len(_BOM) if head.startswith(_BOM) else 0
    while (match := _PROLOG_ITEM.match(head, pos)) is not None:
        pos = match.end()
    rest = head[pos:]
    if rest.startswith(b"<!DOCTYPE"):
        raise XMLRejected("a DOCTYPE declaration (refused: no OGC document needs one)")
    unfinished = rest.startswith((b"<?", b"<!--")) or b"<!DOCTYPE".startswith(rest[:9])
    if unfinished or len(rest) < 2:
        if len(head) > _MAX_PROLOG:
            raise XMLRejected("no root element within the first 64 KiB")
        return False
    if rest[:1] != b"<" or rest[1:2] in (b"!", b"?", b"/") or rest[1:2].isspace():
        raise XMLRejected("not an XML document (something else before the root element)")
    return True


class PrologGuard:
    """Checks the prolog of a streamed document chunk by chunk (see `check_prolog`)."""

    def __init__(self) -> None:
        self._head = b""
        self.done = False

    def feed(self, chunk: bytes) -> None:
        if self.done:
            return
        self._head += chunk
        self.done = check_prolog(self._head)
        if self.done:
            self._head = b""

    def close(self) -> None:
        if not self.done:
            raise XMLRejected("the document ended before its root element")


def parse_xml(data: bytes, *, limit: int = DEFAULT_LIMIT) -> etree._Element:
    """The root element of a complete document, parsed with the hardened parser."""
    if len(data) > limit:
        raise XMLRejected(f"an XML document of {len(data)} bytes (more than {limit})")
    if not check_prolog(data):
        raise XMLRejected("no root element")
    try:
        root = etree.fromstring(data, parser())
    except etree.XMLSyntaxError as e:
        raise XMLRejected(f"malformed XML: {e}") from e
    if root.getroottree().docinfo.doctype:  # belt and braces: check_prolog saw none
        raise XMLRejected("a DOCTYPE declaration")
    return root


def local_name(tag: object) -> str:
    """`{namespace}name` -> `name` (comments and the like have no string tag: '')."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def namespace(tag: object) -> str:
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


def ows_exception_text(root: etree._Element, *, limit: int = 500) -> str | None:
    """The exception texts of an OWS exception report (OWS 1.1/2.0, or the older OGC
    ServiceExceptionReport), joined and cut at `limit` characters; None for any other
    document."""
    name = local_name(root.tag)
    if name == "ExceptionReport" and namespace(root.tag) in OWS_NAMESPACES:
        texts = [
            " ".join((e.text or "").split())
            for e in root.iter()
            if local_name(e.tag) == "ExceptionText"
        ]
        codes = [
            e.get("exceptionCode", "") for e in root.iter() if local_name(e.tag) == "Exception"
        ]
    elif name == "ServiceExceptionReport":
        texts = [" ".join((e.text or "").split()) for e in root if local_name(e.tag)]
        codes = [e.get("code", "") for e in root if local_name(e.tag)]
    else:
        return None
    text = "; ".join(t for t in texts if t) or ", ".join(c for c in codes if c) or "no text"
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = [
    "DEFAULT_LIMIT",
    "PrologGuard",
    "XMLRejected",
    "check_prolog",
    "local_name",
    "namespace",
    "ows_exception_text",
    "parse_xml",
    "parser",
    "pull_parser",
]
