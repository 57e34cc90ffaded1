"""The hardened XML parser: what an upstream's XML may not do to the gateway."""

from __future__ import annotations

import pytest
from lxml import etree

from connectors.remote.xml import (
    PrologGuard,
    XMLRejected,
    ows_exception_text,
    parse_xml,
    pull_parser,
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<lolz>&lol3;</lolz>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, XXE, b"<!DOCTYPE html><html/>"])
def test_a_doctype_is_refused_before_anything_is_expanded_or_fetched(document: bytes) -> None:
    with pytest.raises(XMLRejected, match="DOCTYPE"):
        parse_xml(document)


def test_the_doctype_is_refused_even_after_a_comment_and_split_across_chunks() -> None:
    guard = PrologGuard()
    for chunk in (b"<?xml version='1.0'?><!-- a", b" comment --><!DOC", b"TYPE r []><r/>"):
        if chunk.endswith(b"<r/>"):
            with pytest.raises(XMLRejected, match="DOCTYPE"):
                guard.feed(chunk)
        else:
            guard.feed(chunk)
            assert not guard.done


def test_malformed_oversized_and_non_xml_answers_are_refused() -> None:
    with pytest.raises(XMLRejected, match="malformed"):
        parse_xml(b"<a><b></a>")
    with pytest.raises(XMLRejected, match="more than"):
        parse_xml(b"<a>" + b"x" * 2000 + b"</a>", limit=1000)
    with pytest.raises(XMLRejected, match="not an XML document"):
        parse_xml(b'{"type": "FeatureCollection"}')


def test_the_global_default_parser_owslib_installs_is_not_what_parses() -> None:
    # a permissive global default (as a library might set) must not reach our parsing
    etree.set_default_parser(etree.XMLParser(resolve_entities=True, load_dtd=True))
    try:
        with pytest.raises(XMLRejected):
            parse_xml(XXE)
        parser = pull_parser(("end",))
        parser.feed(b"<a><b>1</b></a>")
        assert [e.tag for _, e in parser.read_events()] == ["b", "a"]
    finally:
        etree.set_default_parser(None)


def test_an_ows_exception_report_gives_its_text_cut_to_length() -> None:
    report = parse_xml(
        b'<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" version="2.0.0">'
        b'<ows:Exception exceptionCode="InvalidParameterValue" locator="typename">'
        b"<ows:ExceptionText>TYPENAME 'nope' doesn't exist</ows:ExceptionText>"
        b"</ows:Exception></ows:ExceptionReport>"
    )
    assert ows_exception_text(report) == "TYPENAME 'nope' doesn't exist"
    assert ows_exception_text(report, limit=10) == "TYPENAME …"
    assert ows_exception_text(parse_xml(b"<wfs:FeatureCollection xmlns:wfs='x'/>")) is None
