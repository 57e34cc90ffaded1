"""Configuration of HTTP caching: `server.http_cache`, and `http_cache` per collection.
`gateway/config.py` only references these models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MIB = 1024 * 1024


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ResponseCacheSettings(_Strict):
    max_bytes: int = Field(
        64 * MIB,
        ge=0,
        description="Bytes of answers the in-process response cache holds at most (least "
        "recently used ones leave first); 0 turns it off. It keeps GET answers of sources "
        "with a version (or a collection's response_ttl), as sent, per Accept-Encoding; "
        "never answers to requests with credentials, partial answers or streamed pages.",
    )
    max_entry_bytes: int = Field(2 * MIB, ge=0, description="Larger answers are sent but not kept.")


class HttpCacheSettings(_Strict):
    metadata_max_age: int = Field(
        60,
        ge=0,
        description="Cache-Control max-age (seconds) of the landing pages, conformance, "
        "collections, schemas and API documents; 0 sends no-cache (clients revalidate "
        "with the ETag each time).",
    )
    items_max_age: int = Field(
        0,
        ge=0,
        description="Cache-Control max-age (seconds) of items and single items; 0 sends "
        "no-cache, so clients see every change at the cost of a 304 round trip.",
    )
    version_ttl: float = Field(
        1.0,
        ge=0,
        description="Seconds a source's version (file time and size, a PostGIS "
        "version_query …) is reused before it is asked again: ETags and cached answers "
        "may lag a change by this long.",
    )
    version_timeout: float = Field(
        0.5,
        gt=0,
        description="Seconds a request waits for its sources' versions: a source that "
        "takes longer is asked again later; meanwhile its answers have no ETag.",
    )
    response_cache: ResponseCacheSettings = Field(
        default_factory=ResponseCacheSettings,
        description="The in-process cache of whole answers to repeated identical requests.",
    )


class CollectionHttpCache(_Strict):
    items_max_age: int | None = Field(
        None,
        ge=0,
        description="Cache-Control max-age of this collection's items (default: "
        "server.http_cache.items_max_age); a federated collection uses its members' least.",
    )
    response_ttl: float = Field(
        0,
        ge=0,
        description="Seconds the response cache may keep answers from this collection when "
        "its source has no version (e.g. a WFS, or PostGIS without version_query): answers "
        "may then be this old (a federated answer: its versionless members' least). 0: "
        "such answers are not kept.",
    )
