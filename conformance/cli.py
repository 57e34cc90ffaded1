"""`twinbridge conformance URL` and `twinbridge conformance compare URL1 URL2 --html F`.

Exit status: 0 when nothing failed and nothing errored, 1 otherwise, 2 for bad usage.
"""

from __future__ import annotations

import asyncio
import enum
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup


class RunByDefault(TyperGroup):
    """`conformance URL ...` means `conformance run URL ...`; subcommands stay reachable."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=RunByDefault,
    help="Check an OGC API – Features / SensorThings endpoint against the standards.",
    no_args_is_help=True,
    add_completion=False,
)


class Suite(enum.StrEnum):
    features = "features"
    sensorthings = "sensorthings"
    all = "all"


Timeout = Annotated[float, typer.Option(help="Seconds per request.")]
Budget = Annotated[float, typer.Option(help="Seconds for the whole run; it never runs longer.")]


def _suites(suite: Suite | None, profile: str | None) -> list[str]:
    """The suites to run: the standard asked for (by default the one a profile's kind
    names, else Features) and the profile's own suite."""
    if suite is None:
        profiled = profile is not None and _profile_suite(profile) == "sensorthings-profile"
        suite = Suite.sensorthings if profiled else Suite.features
    chosen = ["features", "sensorthings"] if suite is Suite.all else [suite.value]
    return [*chosen, _profile_suite(profile)] if profile else chosen


def _profile_suite(profile_id: str) -> str:
    """A features profile checks a collection, a sensorthings one a service's Datastreams."""
    import profiles

    kind = profiles.get(profile_id).kind
    return "sensorthings-profile" if kind == "sensorthings" else "profile"


def _options(**kw: Any) -> Any:
    from conformance.context import Options

    return Options(**{k: v for k, v in kw.items() if v is not None})


def _check_profile(profile: str | None, collection: str | None) -> None:
    if profile is None:
        return
    import profiles

    try:
        kind = profiles.get(profile).kind
    except profiles.UnknownProfile as e:
        raise typer.BadParameter(str(e), param_hint="--profile") from None
    if kind == "features" and not collection:
        raise typer.BadParameter("--profile needs --collection", param_hint="--collection")


def _headers(given: list[str] | None) -> dict[str, str] | None:
    """`--header 'Name: value'` options as a dict (None when none was given)."""
    if not given:
        return None
    headers: dict[str, str] = {}
    for raw in given:
        name, sep, value = raw.partition(":")
        if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
            # the text is not echoed: it may be a credential written without its name
            raise typer.BadParameter("expected 'Name: value'", param_hint="--header")
        headers[name.strip()] = value.strip()
    return headers


def _execute(url: str, suites: list[str], options: Any, quiet: bool, label: str = "") -> Any:
    from conformance.reports.console import ConsoleProgress
    from conformance.runner import run

    progress = None if quiet else ConsoleProgress(label=label)
    try:
        report = asyncio.run(run(url, suites=suites, options=options, listener=progress))
    finally:
        if progress:
            progress.stop()
    if progress:
        progress.summary(report)
    return report


@app.command("run")
def run_command(
    url: Annotated[str, typer.Argument(help="Landing page (Features) or service root (STA).")],
    suite: Annotated[
        Suite | None,
        typer.Option(
            help="Which standard to check [default: sensorthings for a sensorthings "
            "--profile, else features]."
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(help="Also check a data profile, e.g. street-trees or air-quality."),
    ] = None,
    collection: Annotated[
        str | None,
        typer.Option(help="Only this collection (needed with a features --profile)."),
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the JSON report here.")
    ] = None,
    junit: Annotated[Path | None, typer.Option(help="Write JUnit XML here.")] = None,
    html: Annotated[Path | None, typer.Option(help="Write the HTML report here.")] = None,
    timeout: Timeout = 30.0,
    budget: Budget = 900.0,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight at once.")] = 6,
    collections: Annotated[int, typer.Option(min=0, help="Collections tested (0 = all).")] = 5,
    max_items: Annotated[int, typer.Option(min=1, help="Items read per collection.")] = 20_000,
    sample: Annotated[
        int | None, typer.Option(min=1, help="Profile: validate N items only.")
    ] = None,
    allow_writes: Annotated[
        bool,
        typer.Option(help="SensorThings create/update/delete and Features Part 4 (CHANGES DATA)."),
    ] = False,
    header: Annotated[
        list[str] | None,
        typer.Option(
            help="'Name: value' sent with every request, e.g. a write credential "
            "('X-API-Key: …'); repeatable. Reports name the header, never its value."
        ),
    ] = None,
    mqtt: Annotated[str | None, typer.Option(help="SensorThings MQTT broker HOST:PORT.")] = None,
    sta_url: Annotated[str | None, typer.Option(help="SensorThings root if not URL.")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress output.")] = False,
) -> None:
    """Check one endpoint (the default: `twinbridge conformance URL`)."""
    _check_profile(profile, collection)
    options = _options(
        headers=_headers(header),
        timeout=timeout,
        budget=budget,
        concurrency=concurrency,
        max_collections=collections,
        max_items=max_items,
        sample=sample,
        allow_writes=allow_writes,
        mqtt=mqtt,
        profile=profile,
        collection=collection,
        sta_url=sta_url,
    )
    report = _execute(url, _suites(suite, profile), options, quiet)
    from conformance.reports import write_html, write_json, write_junit

    for path, writer in ((json_path, write_json), (junit, write_junit), (html, write_html)):
        if path is not None:
            writer(report, path)
    raise typer.Exit(0 if report.ok else 1)


@app.command("compare")
def compare_command(
    url1: Annotated[str, typer.Argument(help="First endpoint.")],
    url2: Annotated[str, typer.Argument(help="Second endpoint.")],
    html: Annotated[Path, typer.Option(help="Write the side-by-side HTML here.")],
    suite: Annotated[Suite, typer.Option(help="Which standard to check.")] = Suite.features,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Both JSON reports, as a list.")
    ] = None,
    timeout: Timeout = 30.0,
    budget: Budget = 900.0,
    collections: Annotated[int, typer.Option(min=0, help="Collections tested (0 = all).")] = 5,
    quiet: Annotated[bool, typer.Option(help="No progress output.")] = False,
) -> None:
    """Run the same suites against two endpoints and show them side by side."""
    import json

    from conformance.compare import write_compare

    options = _options(timeout=timeout, budget=budget, max_collections=collections)
    suites = _suites(suite, None)
    first = _execute(url1, suites, options, quiet, label="A: ")
    second = _execute(url2, suites, options, quiet, label="B: ")
    write_compare(first, second, html)
    if json_path is not None:
        docs = [first.to_dict(), second.to_dict()]
        json_path.write_text(json.dumps(docs, indent=2, ensure_ascii=False), encoding="utf-8")
    raise typer.Exit(0 if first.ok and second.ok else 1)


@app.command("checks")
def checks_command(
    suite: Annotated[Suite, typer.Option(help="Which suite to list.")] = Suite.all,
) -> None:
    """List the checks: id, requirement, requirements class, whether beyond OGC's CITE, and
    how many tests of OGC's ETS each covers (conformance/ets_coverage.yaml)."""
    from rich.console import Console
    from rich.table import Table

    from conformance.ets import ets_tests
    from conformance.suites import load_all

    every = ["features", "sensorthings", "profile", "sensorthings-profile"]
    suites = every if suite is Suite.all else [suite.value]
    table = Table(show_lines=False)
    table.add_column("check", no_wrap=True)  # ids stay whole however narrow the terminal
    for column in ("requirement", "class", "beyond CITE", "ETS tests"):
        table.add_column(column)
    for c in load_all().for_suites(suites):
        covered = len(ets_tests(c.id))
        table.add_row(
            c.id,
            c.requirement.id,
            c.requirement.cls.name,
            "yes" if c.beyond_cite else "",
            str(covered) if covered else "",
        )
    Console().print(table)
