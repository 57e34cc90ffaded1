"""If-None-Match and If-Modified-Since as RFC 9110 §13 reads them."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.httpcache.conditions import (
    Validator,
    entity_tags,
    http_date,
    none_match,
    not_modified_since,
)

TAG = '"0123abcd"'


def test_entity_tag_lists_are_split_and_weak_tags_compare_by_their_opaque_part() -> None:
    assert entity_tags('"a", W/"b" ,junk, *') == ['"a"', '"b"', "*"]
    assert none_match('"other", W/"0123abcd"', TAG)
    assert not none_match('"other", "0123abc"', TAG)
    assert not none_match("0123abcd", TAG)  # an unquoted tag is no tag


def test_a_compressed_variant_of_the_tag_matches_too() -> None:
    assert none_match('"0123abcd-gzip"', TAG)
    assert none_match('W/"0123abcd-br"', TAG)
    assert not none_match('"0123abcd-deflate"', TAG)


def test_if_modified_since_compares_whole_seconds_and_ignores_bad_dates() -> None:
    changed = datetime(2026, 3, 1, 12, 0, 0, 700_000, tzinfo=UTC)
    assert not_modified_since("Sun, 01 Mar 2026 12:00:00 GMT", changed)
    assert not not_modified_since("Sun, 01 Mar 2026 11:59:59 GMT", changed)
    assert not not_modified_since("yesterday", changed)
    assert not not_modified_since("", changed)
    assert not not_modified_since("Fri, 31 Dec 9999 23:59:59 GMT", changed)  # later than now


def test_validator_headers_carry_validators_only_when_asked() -> None:
    moment = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    v = Validator(TAG, moment, "no-cache", "Accept")
    assert dict(v.headers()) == {
        b"cache-control": b"no-cache",
        b"vary": b"Accept",
        b"etag": TAG.encode(),
        b"last-modified": http_date(moment).encode(),
    }
    assert http_date(moment) == "Sun, 01 Mar 2026 12:00:00 GMT"
    assert dict(v.headers(validators=False)) == {b"cache-control": b"no-cache", b"vary": b"Accept"}
