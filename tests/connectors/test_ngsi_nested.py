"""connectors/ngsi/nested.py: flat records back into nested JSON, the inverse of
connectors.paths.flatten, and the clear errors for paths that cannot both hold."""

from __future__ import annotations

import pytest

from connectors import paths
from connectors.ngsi.nested import unflatten


def test_unflatten_inverts_flatten_for_objects_arrays_and_escaped_names():
    doc = {
        "temperature": {
            "type": "Number",
            "value": 21.5,
            "metadata": {"unitCode": {"value": "CEL"}},
        },
        "sensors": [{"unit": "GQ"}, {"unit": "CEL"}],
        "a.b": {"c[0]": 1},
        "tags": ["x", "y"],
    }
    assert unflatten(paths.flatten(doc)) == doc


def test_a_given_object_stays_a_value_and_is_not_walked_into():
    point = {"type": "Point", "coordinates": [1.0, 2.0]}
    assert unflatten({"location.value": point}) == {"location": {"value": point}}
    with pytest.raises(ValueError, match="clashes"):
        unflatten({"location.value": point, "location.value.type": "LineString"})


@pytest.mark.parametrize(
    "flat, message",
    [
        ({"a": 1, "a.b": 2}, "clashes"),
        ({"a.b": 2, "a": 1}, "clashes"),
        ({"a[1]": 1}, "gap"),
        ({"a[0]": 1, "a.b": 2}, "a name where an array is"),
        ({"a..b": 1}, "name is missing"),
    ],
)
def test_paths_that_cannot_both_hold_name_the_field(flat, message):
    with pytest.raises(ValueError, match=message):
        unflatten(flat)
