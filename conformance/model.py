"""What a conformance run is made of: requirements, evidence, results and the report.

A *requirement* is one statement of a standard (or of a profile) with a stable identifier.
A *check* (see `registry`) tests one requirement in one way; it ends in a *result*:

- pass  - the server did what the requirement says, for everything the check looked at;
- fail  - it did not; the message says what was expected and what came back;
- skip  - the check could not apply (a conformance class the server does not declare, an
          option not given, or something another check already reported as broken);
- error - the check could not finish (timeout, connection refused, time budget spent).

Every HTTP exchange a check made is kept as *evidence*: method, URL, status, an excerpt.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Status(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"


class Level(enum.StrEnum):
    """How binding the statement is: SHALL, SHOULD or MAY in the standard's words."""

    REQUIREMENT = "requirement"
    RECOMMENDATION = "recommendation"
    PERMISSION = "permission"


@dataclass(frozen=True)
class RequirementClass:
    """A group of requirements, e.g. "Features Part 1: Core"; `uri` is what a server
    declares in /conformance (empty when the group is not declarable, e.g. a profile)."""

    name: str
    uri: str
    spec: str


@dataclass(frozen=True)
class Requirement:
    id: str
    title: str
    cls: RequirementClass
    spec: str
    level: Level = Level.REQUIREMENT


class CheckFailed(Exception):
    """Raised by a check: the server does not meet the requirement."""


class CheckSkipped(Exception):
    """Raised by a check: it does not apply to this server (the message says why)."""


class Blocked(CheckSkipped):
    """Something this check depends on is missing or broken; another check reports it."""


@dataclass
class Evidence:
    method: str
    url: str
    status: int | None
    excerpt: str = ""
    content_type: str = ""
    elapsed_ms: float = 0.0
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "url": self.url, "status": self.status}
        if self.content_type:
            out["content_type"] = self.content_type
        out["elapsed_ms"] = round(self.elapsed_ms, 1)
        if self.note:
            out["note"] = self.note
        if self.excerpt:
            out["excerpt"] = self.excerpt
        return out


@dataclass
class Result:
    check: str
    title: str
    requirement: Requirement
    status: Status
    message: str
    evidence: list[Evidence] = field(default_factory=list)
    subject: str | None = None
    beyond_cite: bool = False
    duration_ms: float = 0.0
    ets: tuple[str, ...] = ()  # OGC's ETS tests this check covers (conformance/ets.py)

    @property
    def label(self) -> str:
        """The check's name with its subject, e.g. "fc-op [street-trees]"."""
        return f"{self.check} [{self.subject}]" if self.subject else self.check

    def to_dict(self, max_evidence: int = 40) -> dict[str, Any]:
        evidence = self.evidence
        if len(evidence) > max_evidence:
            head = max_evidence // 2
            evidence = [*evidence[:head], *evidence[-(max_evidence - head) :]]
        out: dict[str, Any] = {
            "requirement": self.requirement.id,
            "class": self.requirement.cls.name,
            "class_uri": self.requirement.cls.uri,
            "check": self.check,
            "title": self.title,
            "level": self.requirement.level.value,
            "status": self.status.value,
            "message": self.message,
            "subject": self.subject,
            "beyond_cite": self.beyond_cite,
            "ets": list(self.ets),
            "spec": self.requirement.spec,
            "duration_ms": round(self.duration_ms, 1),
            "evidence": [e.to_dict() for e in evidence],
        }
        if len(self.evidence) > len(evidence):
            out["evidence_omitted"] = len(self.evidence) - len(evidence)
        return out


@dataclass
class Report:
    target: str
    started: str
    finished: str
    suites: list[str]
    results: list[Result]
    declared: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0

    def summary(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Status}
        for r in self.results:
            counts[r.status.value] += 1
        return counts

    @property
    def ok(self) -> bool:
        """True when nothing failed and nothing errored (the CLI's exit code 0)."""
        counts = self.summary()
        return counts["fail"] == 0 and counts["error"] == 0

    def by_class(self) -> dict[str, list[Result]]:
        groups: dict[str, list[Result]] = {}
        for r in self.results:
            groups.setdefault(r.requirement.cls.name, []).append(r)
        return groups

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "started": self.started,
            "finished": self.finished,
            "duration_s": round(self.duration_s, 2),
            "tool": "twinbridge conformance",
            "suites": self.suites,
            "options": self.options,
            "declared": self.declared,
            "summary": self.summary(),
            "results": [r.to_dict() for r in self.results],
        }
