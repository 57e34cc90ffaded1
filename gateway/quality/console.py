"""`twinbridge quality` on the console: a live progress bar on a terminal, one plain line
per page otherwise (CI logs), and a summary table at the end."""

from __future__ import annotations

from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gateway.quality.html import percent, staleness_text
from gateway.quality.starows import property_rows, summary_rows
from gateway.quality.walk import Walk


class WalkProgress:
    """A walk listener; `live` chooses the rich bar (default: when on a terminal)."""

    def __init__(self, file: TextIO | None = None, live: bool | None = None) -> None:
        self.console = Console(file=file, stderr=file is None, highlight=False)
        self.live = self.console.is_terminal if live is None else live
        self.progress: Progress | None = None
        self.task: Any = None

    def __call__(self, state: Walk) -> None:
        if not self.live:
            total = f" of {state.number_matched}" if state.number_matched is not None else ""
            self.console.print(f"page {state.pages}: {state.items}{total} items", markup=False)
            return
        if self.progress is None:
            self.progress = Progress(
                TextColumn("[bold]reading items"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task("items", total=state.number_matched)
        self.progress.update(self.task, completed=state.items)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def summary(self, doc: dict[str, Any]) -> None:
        self.stop()
        q, w = doc["quality"], doc["walk"]
        table = Table(title=f"{doc['target']} ({w['seconds']:.1f} s)")
        table.add_column("figure")
        table.add_column("value", justify="right")
        if doc.get("kind") == "sensorthings":
            for label, text, problems in summary_rows(doc) + property_rows(q):
                table.add_row(label, f"[red]{text}[/]" if problems else text)
        else:
            self._features(table, q)
        self.console.print(table)
        if not w["complete"]:
            self.console.print(f"[bold red]INCOMPLETE[/] {w['stopped']}", highlight=False)

    @staticmethod
    def _features(table: Table, q: dict[str, Any]) -> None:
        table.add_row("items", str(q["items"]))
        table.add_row("valid against the schema", percent(q["valid"]["share"]))
        for kind, n in q["geometry"].items():
            table.add_row(f"geometries {kind}", _flag(n))
        table.add_row("values outside range", _flag(sum(q["out_of_range"].values())))
        table.add_row("values outside code list", _flag(sum(q["outside_code_list"].values())))
        exact = "" if q["ids"]["exact"] else " (not exact)"
        table.add_row("duplicate ids", _flag(q["ids"]["duplicates"]) + exact)
        table.add_row("staleness", staleness_text(q["freshness"]["staleness_seconds"]))
        for name, share in q["completeness"].items():
            table.add_row(f"complete: {name}", percent(share))


def _flag(n: int) -> str:
    return f"[red]{n}[/]" if n else "0"
