"""The `twinbridge` command line."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import uvicorn
from rich.console import Console
from rich.table import Table
from rich.text import Text

from gateway.config import ConfigError, load_config
from gateway.metrics import MULTIPROCESS_ENV
from gateway.server import CONFIG_ENV

if TYPE_CHECKING:
    from gateway.access.probe import ProviderReport

app = typer.Typer(
    help="TwinBridge: one standard API over every city's data platform.",
    no_args_is_help=True,
    add_completion=False,
)
config_app = typer.Typer(help="Work with configuration files.", no_args_is_help=True)
app.add_typer(config_app, name="config")
from conformance.cli import app as conformance_app  # noqa: E402  (the conformance suite's CLI)

app.add_typer(conformance_app, name="conformance")
from gateway.quality.cli import quality  # noqa: E402  (`twinbridge quality URL`)

app.command()(quality)
from gateway.mapwizard.cli import app as map_app  # noqa: E402  (`twinbridge map draft|check`)

app.add_typer(map_app, name="map")
console = Console(stderr=True)
WORKER_HEALTHCHECK_SECONDS = 60


@app.command()
def serve(
    config: Annotated[
        Path | None, typer.Option(help="YAML configuration; default: the demo.")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    log_level: Annotated[str, typer.Option(help="Log level.")] = "info",
) -> None:
    """Serve the OGC API – Features facades (the embedded demo without --config)."""
    if config is not None:
        try:
            load_config(config)  # fail here, once, with a readable message
        except ConfigError as e:
            console.print(f"[red]{e}[/red]")
            raise typer.Exit(2) from None
        os.environ[CONFIG_ENV] = str(config.resolve())
    else:
        os.environ.pop(CONFIG_ENV, None)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    with tempfile.TemporaryDirectory(prefix="twinbridge-metrics-") as shared:
        if workers > 1:  # /metrics sums every worker's values (see gateway/metrics.py)
            os.environ.setdefault(MULTIPROCESS_ENV, shared)
        uvicorn.run(
            "gateway.server:app_factory",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            access_log=False,
            proxy_headers=False,  # server.forwarded_allow_ips decides (gateway/forwarded.py)
            server_header=False,  # no "server: uvicorn" telling the software to every client
            http="gateway.protocol:GatewayProtocol",  # head limits, errors in the facade shape
            # uvicorn kills a worker that does not answer its supervisor's ping in time, and
            # a spawned worker cannot answer while it imports the gateway: at its default of
            # 5 s a busy host (or a CPU-throttled pod) killed starting workers over and over
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )


@config_app.command("check")
def check(config: Annotated[Path, typer.Argument(help="The YAML file to check.")]) -> None:
    """Validate a configuration, probe every source (describe + read one item) and load
    every OIDC provider's JWKS."""
    from gateway.access.probe import check_providers
    from gateway.checks import check_sources

    try:
        loaded = load_config(config)
        rows = asyncio.run(check_sources(loaded))
        providers = asyncio.run(check_providers(loaded))
    except ConfigError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    table = Table(title=f"{config}")
    for column in ("tenant", "collection", "connector", "profile", "items", "problems"):
        table.add_column(column)
    for row in rows:
        problem = "; ".join(row.problems)
        table.add_row(
            row.tenant,
            row.collection,
            row.connector,
            row.profile or "–",
            "?" if row.items is None else str(row.items),
            # Text, not markup: 'Leistung [kW]' or an escaped name 'a\[0\]' stays as is
            Text(problem, style="red") if problem else "[green]ok[/green]",
        )
    Console().print(table)
    if providers:
        Console().print(_provider_table(providers))
    if any(r.problems for r in rows) or any(p.problems for p in providers):
        raise typer.Exit(1)


def _provider_table(reports: list[ProviderReport]) -> Table:
    """The OIDC providers: where their keys come from, what they verify, what is wrong."""
    table = Table(title="OIDC providers")
    for column in ("provider", "jwks", "tenants", "keys", "algorithms", "problems"):
        table.add_column(column)
    for report in reports:
        problem = "; ".join([*report.problems, *report.notes] if report.problems else [])
        notes = "; ".join(report.notes)
        table.add_row(
            report.provider,
            Text(report.source),
            ", ".join(report.tenants) or "–",
            "?" if report.keys is None else str(report.keys),
            ", ".join(report.algorithms) or "–",
            Text(problem, style="red") if problem else Text(f"ok {notes}".strip(), style="green"),
        )
    return table


@config_app.command("reference")
def reference(
    readme: Annotated[Path | None, typer.Option(help="Update this README's block instead.")] = None,
) -> None:
    """Print the configuration reference (Markdown), generated from the models."""
    from gateway.configdoc import reference as build
    from gateway.configdoc import update_readme

    if readme is None:
        print(build(), end="")
    else:
        readme.write_text(update_readme(readme.read_text(encoding="utf-8")), encoding="utf-8")


sta_app = typer.Typer(help="Work with the embedded SensorThings stores.", no_args_is_help=True)
app.add_typer(sta_app, name="sta")


@sta_app.command("import")
def sta_import(
    folder: Annotated[
        Path, typer.Argument(help="Digest folder: nodes.csv, sensors.csv, data.csv.gz.")
    ],
    tenant: Annotated[str, typer.Option(help="The tenant whose store receives the data.")],
    format: Annotated[
        str, typer.Option("--format", help="Input format (aot: Array of Things).")
    ] = "aot",
    config: Annotated[
        Path | None, typer.Option(help="YAML configuration; default: the demo.")
    ] = None,
) -> None:
    """Import sensor data into a tenant's embedded SensorThings store (incremental)."""
    from gateway.sensorthings.cli import import_aot
    from gateway.server import configured

    if format != "aot":
        console.print(f"[red]unknown format '{format}' (supported: aot)[/red]")
        raise typer.Exit(2)
    try:
        loaded = load_config(config) if config is not None else configured()
        result = import_aot(loaded, tenant, folder)
    except (ConfigError, OSError, ValueError) as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    console.print(
        f"{tenant}: {result.things} Things, {result.datastreams} Datastreams, "
        f"{result.observations} Observations imported; {result.skipped} rows skipped"
    )


def main() -> None:  # pragma: no cover - console entry for `python -m gateway.cli`
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
