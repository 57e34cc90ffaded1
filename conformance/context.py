"""The state of one run (target, options, HTTP session), the checks it runs (Check) and one
check execution (Test). Below the registry: a check module needs only this and the registry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from conformance.http import Fetched, Probe, Session
from conformance.model import CheckFailed, Requirement

CheckFunc = Callable[["Test"], Awaitable[str | None]]


@dataclass(frozen=True)
class Check:
    """A registered check; `conformance.registry.check` makes them."""

    id: str
    title: str
    requirement: Requirement
    func: CheckFunc
    suite: str
    needs: tuple[str, ...] = ()
    needs_any: tuple[str, ...] = ()
    per_collection: bool = False
    beyond_cite: bool = False
    writes: bool = False  # changes data: runs after every read-only check


@dataclass
class Options:
    """What a run may do and how long it may take. Defaults suit a public endpoint."""

    timeout: float = 30.0  # seconds per request
    budget: float = 900.0  # seconds for the whole run
    concurrency: int = 6  # requests in flight at once
    max_collections: int = 5  # collections tested per API (0 = all), like CITE's noofcollections
    max_items: int = 20_000  # items read per collection where a check needs all of them
    allow_writes: bool = False  # STA create/update/delete, Features Part 4 (changes data!)
    mqtt: str | None = None  # HOST:PORT of the SensorThings MQTT broker
    profile: str | None = None  # profile id for the profile suite
    collection: str | None = None  # collection the profile suite validates
    sample: int | None = None  # validate only N items (profile suite)
    sta_url: str | None = None  # SensorThings service root when it differs from the target
    headers: dict[str, str] | None = None  # sent with every request, e.g. a write credential

    def public(self) -> dict[str, Any]:
        """The options as a report shows them: header names only, never their values."""
        shown = {k: v for k, v in vars(self).items() if v is not None}
        if self.headers:
            shown["headers"] = {name: "(not shown)" for name in self.headers}
        return shown


class Context:
    def __init__(self, target: str, session: Session, options: Options) -> None:
        self.target = target
        self.root = target.rstrip("/")
        self.session = session
        self.options = options
        self.notes: dict[str, Any] = {}
        self.cleanups: list[Callable[[], Awaitable[None]]] = []  # undo writes at the end

    def url(self, path: str) -> str:
        """An API path (starting with "/") below the target's root."""
        return f"{self.root}{path}"


class Test:
    """One execution of one check (for one subject, e.g. a collection)."""

    def __init__(self, ctx: Context, check: Check, subject: str | None = None) -> None:
        self.ctx = ctx
        self.check = check
        self.subject = subject
        self.http = Probe(ctx.session)
        self.requirement = check.requirement  # a check may name a more specific one

    @property
    def collection(self) -> str:
        if self.subject is None:
            raise RuntimeError(f"check {self.check.id} is not per collection")
        return self.subject

    async def get(self, url: str, **kw: Any) -> Fetched:
        return await self.http.get(url, **kw)

    async def request(self, method: str, url: str, **kw: Any) -> Fetched:
        return await self.http.request(method, url, **kw)


def expect(condition: object, message: str) -> None:
    """Fail the check with `message` unless `condition` holds."""
    if not condition:
        raise CheckFailed(message)


def expect_status(fetched: Fetched, *expected: int) -> None:
    if fetched.status not in expected:
        wanted = " or ".join(str(s) for s in expected)
        raise CheckFailed(
            f"{fetched.method} {fetched.url}: expected status {wanted}, got {fetched.status}"
        )


class Problems:
    """Collect every problem a check finds, then fail once with all of them."""

    def __init__(self, limit: int = 12) -> None:
        self.items: list[str] = []
        self.limit = limit

    def add(self, message: str) -> None:
        self.items.append(message)

    def check(self, condition: object, message: str) -> bool:
        if not condition:
            self.add(message)
        return bool(condition)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self, summary: str = "") -> None:
        if not self.items:
            return
        shown = self.items[: self.limit]
        more = len(self.items) - len(shown)
        text = "; ".join(shown) + (f"; … and {more} more" if more > 0 else "")
        raise CheckFailed(f"{summary}: {text}" if summary else text)


@dataclass(frozen=True)
class SuiteHooks:
    """What the runner needs to know about a suite besides its checks."""

    declared: Callable[[Test], Awaitable[set[str]]]  # conformance classes the server declares
    subjects: Callable[[Test], Awaitable[list[str]]]  # e.g. the collections to test
    matches: Callable[[str, set[str]], bool]  # is a needed class among the declared ones?


HOOKS: dict[str, SuiteHooks] = {}


def exact_match(needed: str, declared: set[str]) -> bool:
    return needed in declared
