"""Link objects (RFC 8288 in JSON): find by relation and type, resolve relative hrefs
against the document they came from (as any client must), describe them for messages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin


def links_of(doc: Any) -> list[dict[str, Any]]:
    links = doc.get("links") if isinstance(doc, dict) else None
    return [x for x in links if isinstance(x, dict)] if isinstance(links, list) else []


def normal_type(value: Any) -> str:
    """Media types compare case-insensitively and without blanks around parameters."""
    return "".join(str(value or "").split()).lower()


def same_type(a: Any, b: Any) -> bool:
    return normal_type(a) == normal_type(b)


def base_type(value: Any) -> str:
    return normal_type(value).split(";")[0]


def find(links: list[dict[str, Any]], rel: str | tuple[str, ...], type_: str | None = None):
    rels = (rel,) if isinstance(rel, str) else rel
    return [
        x
        for x in links
        if x.get("rel") in rels and (type_ is None or same_type(x.get("type"), type_))
    ]


def resolve(link: dict[str, Any], document_url: str) -> str:
    href = link.get("href")
    if not isinstance(href, str):
        raise ValueError(f"link {describe(link)} has no string href")
    return urljoin(document_url, href)


def describe(link: dict[str, Any]) -> str:
    return f"rel={link.get('rel')!r} type={link.get('type')!r} href={link.get('href')!r}"


def missing_rel_or_type(links: list[dict[str, Any]]) -> list[str]:
    """Links lacking `rel` or `type` (the Part 1 rule for all links of a response)."""
    return [
        describe(x)
        for x in links
        if not isinstance(x.get("rel"), str) or not isinstance(x.get("type"), str)
    ]


def bad_hrefs(links: list[dict[str, Any]]) -> list[str]:
    return [describe(x) for x in links if not isinstance(x.get("href"), str) or not x["href"]]
