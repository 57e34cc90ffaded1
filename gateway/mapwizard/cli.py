"""`twinbridge map draft` and `twinbridge map check`. Exit status of check: 0 when every
collection is accepted, 1 when one is not, 2 for bad usage (an unreadable config)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table
from rich.text import Text

import profiles
from gateway.config import ConfigError, load_config
from gateway.mapwizard.check import CollectionCheck, check_config

app = typer.Typer(
    help="Draft and check a collection's mapping onto a profile.", no_args_is_help=True
)
err = Console(stderr=True)


@app.command("draft")
def draft_command(
    source: Annotated[
        str,
        typer.Option(
            help="A source block (.yaml), a collection of a config (config.yaml#tenant/id), "
            "a .geojson/.csv/.gpkg file, or an OGC API collection URL."
        ),
    ],
    profile: Annotated[str, typer.Option(help="The profile to map onto.")],
    collection: Annotated[
        str, typer.Option(help="Id of the drafted collection.")
    ] = "new-collection",
    tenant: Annotated[
        str | None, typer.Option(help="Print a whole configuration for this tenant.")
    ] = None,
    sample: Annotated[int, typer.Option(min=1, max=100_000, help="Records read.")] = 500,
    format: Annotated[str, typer.Option("--format", help="yaml or json.")] = "yaml",
) -> None:
    """Draft a collection (source + mapping) from a source's description and a sample."""
    if format not in ("yaml", "json"):
        raise typer.BadParameter("yaml or json", param_hint="--format")
    from gateway.mapwizard.draft import draft
    from gateway.mapwizard.emit import render
    from gateway.mapwizard.source import resolve

    try:
        chosen = profiles.get(profile)
        done = asyncio.run(draft(resolve(source), chosen, sample))
    except profiles.UnknownProfile as e:
        raise typer.BadParameter(str(e), param_hint="--profile") from None
    except (ConfigError, OSError, ValueError) as e:
        err.print(Text(str(e), style="red"))
        raise typer.Exit(2) from None
    if format == "json":
        doc = {
            "source": done.source.shown,
            "mapping": done.mapping(),
            "evidence": {
                n: {"confidence": p.confidence, "evidence": p.evidence}
                for n, p in done.chosen.items()
            },
            "unmatched_required": [t.name for t in done.unmatched if t.required],
            "unmatched_optional": [t.name for t in done.unmatched if not t.required],
            "decisions": done.decisions,
        }
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print(render(done, collection, tenant), end="")


@app.command("check")
def check_command(
    config: Annotated[Path, typer.Argument(help="The YAML configuration to check.")],
    collection: Annotated[
        str | None, typer.Option(help="Only this collection (tenant/collection).")
    ] = None,
    format: Annotated[str, typer.Option("--format", help="console or json.")] = "console",
) -> None:
    """Count, over each whole source, what its mapping delivers and what fails."""
    if format not in ("console", "json"):
        raise typer.BadParameter("console or json", param_hint="--format")
    try:
        loaded = load_config(config)
    except ConfigError as e:
        err.print(Text(str(e), style="red"))
        raise typer.Exit(2) from None
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("reading sources", total=None)

        def progress(name: str, n: int, total: int | None) -> None:
            bar.update(task, description=name, completed=n, total=total)

        reports = asyncio.run(check_config(loaded, collection, progress))
    if format == "json":
        print(json.dumps([r.as_dict() for r in reports], indent=2, ensure_ascii=False))
    else:
        for report in reports:
            _print(report)
    raise typer.Exit(0 if reports and all(r.accepted for r in reports) else 1)


def _print(report: CollectionCheck) -> None:
    verdict = "[green]accepted[/green]" if report.accepted else "[red]not accepted[/red]"
    table = Table(
        title=f"{report.tenant}/{report.collection} ({report.profile}): {verdict}, "
        f"{report.items} records, {report.valid} valid"
    )
    for column in (
        "property",
        "mapped from",
        "present",
        "failed rule",
        "out of range",
        "off code list",
    ):
        table.add_column(column)
    for p in report.properties:
        mapped = Text(
            p.rule or ("MISSING (required)" if p.required else "–"),
            style="" if p.rule else "red" if p.required else "dim",
        )
        cells = [
            str(n) if not n else f"[red]{n}[/red]"
            for n in (p.failed, p.out_of_range, p.outside_code_list)
        ]
        table.add_row(p.name, mapped, str(p.present), *cells)
    Console().print(table)
    notes = [report.error] if report.error else []
    notes += [
        f"the mapping reads '{f}', which the source does not have" for f in report.unknown_fields
    ]
    notes += [
        f"{p.name}: {p.failed} values fail the rule, e.g. {', '.join(p.examples)}"
        for p in report.properties
        if p.failed
    ]
    if report.duplicate_ids:
        notes.append(f"{report.duplicate_ids} duplicate ids")
    for p in report.properties:
        if p.defaulted:  # not a failure: the mapping says what such a value means
            Console().print(Text(f"{p.name}: {p.defaulted} values took the default", "yellow"))
    if report.valid < report.items:
        notes.append(f"{report.items - report.valid} items invalid against the profile's schema")
    for line in notes:
        Console().print(Text(line, style="red"))


@app.command("measure")
def measure_command(
    config: Annotated[Path, typer.Argument(help="A configuration with hand-written mappings.")],
) -> None:
    """Draft every profiled collection's source again and count the edits from the draft
    to the configuration's mapping (a Markdown table, as in docs/mapping-wizard.md)."""
    from gateway.mapwizard.measure import measure_all, table

    try:
        loaded = load_config(config)
    except ConfigError as e:
        err.print(Text(str(e), style="red"))
        raise typer.Exit(2) from None
    print(table(asyncio.run(measure_all(loaded))), end="")
