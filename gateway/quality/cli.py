"""`twinbridge quality URL --profile P`: the data-quality figures of any OGC API – Features
collection, or of a SensorThings service's Datastreams for a sensorthings profile (the
profile's kind decides), read over HTTP. Exit status: 0 when every page was read, 1 when
the walk could not finish (the reports still hold what was read), 2 for bad usage."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

import profiles


def quality(
    url: Annotated[
        str,
        typer.Argument(
            help="Landing page, collection or items URL; for a sensorthings profile a "
            "SensorThings service root (…/sta/v1.1/) or a landing page above one."
        ),
    ],
    profile: Annotated[str, typer.Option(help="The profile to assess against.")],
    collection: Annotated[
        str | None, typer.Option(help="Collection id (default: the profile's id).")
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the JSON report here.")
    ] = None,
    html: Annotated[Path | None, typer.Option(help="Write the HTML report here.")] = None,
    page_size: Annotated[
        int, typer.Option(min=1, max=10_000, help="Items asked for per page.")
    ] = 1000,
    max_items: Annotated[int, typer.Option(min=0, help="Stop after N items (0 = all).")] = 0,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds per request.")] = 60.0,
    quiet: Annotated[bool, typer.Option(help="No progress output.")] = False,
    window: Annotated[
        int,
        typer.Option(min=1, max=10_000, help="SensorThings: latest Observations per Datastream."),
    ] = 100,
    stale_seconds: Annotated[
        float,
        typer.Option(min=1, help="SensorThings: a Datastream older than this is stale."),
    ] = 86400,
) -> None:
    """Assess a collection's (or a SensorThings service's) data quality against a profile
    (console, JSON, HTML)."""
    from gateway.quality.console import WalkProgress
    from gateway.quality.html import render
    from gateway.quality.stawalk import assess_sensorthings
    from gateway.quality.walk import WalkOptions, assess

    try:
        chosen = profiles.get(profile)
    except profiles.UnknownProfile as e:
        raise typer.BadParameter(str(e), param_hint="--profile") from None
    if not url.startswith(("http://", "https://")):
        raise typer.BadParameter("an http(s) URL is needed", param_hint="URL")
    options = WalkOptions(page_size=page_size, max_items=max_items, timeout=timeout)
    progress = WalkProgress()
    try:
        listener = None if quiet else progress
        if chosen.sensorthings is not None:
            coro = assess_sensorthings(
                url, chosen, options, listener, window=window, stale_seconds=stale_seconds
            )
        else:
            coro = assess(url, chosen, collection, options, listener)
        doc = asyncio.run(coro)
    finally:
        progress.stop()
    if not quiet:
        progress.summary(doc)
    if json_path is not None:
        json_path.write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
    if html is not None:
        html.write_text(render(doc), encoding="utf-8")
    raise typer.Exit(0 if doc["walk"]["complete"] else 1)
