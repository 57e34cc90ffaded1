"""Every registered check is shown able to fail by at least one broken server in these
tests (the issue: "each check is shown able to fail")."""

from __future__ import annotations

from conformance.suites import load_all
from tests.conformance import (
    test_broken_crs_filter,
    test_broken_features,
    test_broken_resources,
    test_broken_variants,
    test_features_part4,
    test_sensorthings,
    test_sensorthings_profile,
)

# Shown failing by tests that are not a table of cases.
ELSEWHERE = {
    "profile/schema": "test_profile.test_an_invalid_item_fails_the_schema_rule",
    "profile/code-lists": "test_profile.test_a_value_outside_the_code_list_fails_that_rule",
    "profile/queryables": "test_profile.test_a_missing_queryable_fails_the_queryables_rule",
    "profile/sortables": "test_profile.test_an_ignored_sortby_fails_the_sortables_rule",
    "profile/version": "test_profile.test_another_declared_version_fails_the_version_rule",
    "sta/mqtt-receive": "test_sensorthings.test_mqtt_checks_against_a_real_broker",
    "sta/mqtt-create": "test_sensorthings.test_mqtt_checks_against_a_real_broker",
    "sta-profile/schema": "test_sensorthings_profile.test_each_rule_fails_on_its_broken_server",
}


def test_every_check_has_a_broken_server_that_it_flags():
    shown = set(ELSEWHERE)
    modules = (
        test_broken_features,
        test_broken_resources,
        test_broken_crs_filter,
        test_broken_variants,
        test_features_part4,
        test_sensorthings,
        test_sensorthings_profile,
    )
    for module in modules:
        for case in module.CASES:
            shown |= case[2]
    shown |= {case[2] for case in test_sensorthings.TYPE_CASES}
    registered = {c.id for c in load_all()}
    assert registered - shown == set()
    assert shown - registered == set(), "a test names a check that does not exist"
