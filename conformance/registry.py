"""The registry of checks. A check is an async function registered with the requirement it
tests, the suite it belongs to and its preconditions:

    @check(REQ_FC_OP, "fc-op", "GET /collections/{id}/items answers 200",
           suite=FEATURES, per_collection=True)
    async def items_operation(t: Test) -> str:
        page = await t.get(items_url(t), accept=GEOJSON)
        expect_status(page, 200)
        return "200 OK"

`needs` lists conformance classes that must all be declared by the server, `needs_any` a
set of which one suffices; otherwise the check is skipped with that reason.
"""

from __future__ import annotations

from collections.abc import Callable

from conformance.context import Check, CheckFunc
from conformance.model import Requirement

FEATURES = "features"
SENSORTHINGS = "sensorthings"
PROFILE = "profile"
SUITES = (FEATURES, SENSORTHINGS, PROFILE)


class Registry:
    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}

    def add(self, c: Check) -> None:
        if c.id in self._checks:
            raise ValueError(f"check id '{c.id}' registered twice")
        self._checks[c.id] = c

    def __iter__(self):  # registration order is report order
        return iter(self._checks.values())

    def get(self, check_id: str) -> Check:
        return self._checks[check_id]

    def for_suites(self, suites: tuple[str, ...] | list[str]) -> list[Check]:
        return [c for c in self if c.suite in suites]


REGISTRY = Registry()
CLASS_NAMES: dict[str, str] = {}  # conformance class URI -> readable name


def class_label(uri: str) -> str:
    name = CLASS_NAMES.get(uri)
    return f"{name} ({uri})" if name else uri


def check(
    requirement: Requirement,
    check_id: str,
    title: str,
    *,
    suite: str,
    needs: tuple[str, ...] = (),
    needs_any: tuple[str, ...] = (),
    per_collection: bool = False,
    beyond_cite: bool = False,
    writes: bool = False,
) -> Callable[[CheckFunc], CheckFunc]:
    """Register the decorated function as a check of `requirement`."""

    def register(func: CheckFunc) -> CheckFunc:
        if requirement.cls.uri:
            CLASS_NAMES.setdefault(requirement.cls.uri, requirement.cls.name)
        REGISTRY.add(
            Check(
                id=check_id,
                title=title,
                requirement=requirement,
                func=func,
                suite=suite,
                needs=needs,
                needs_any=needs_any,
                per_collection=per_collection,
                beyond_cite=beyond_cite,
                writes=writes,
            )
        )
        return func

    return register
