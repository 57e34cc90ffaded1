"""Progress while a run is going: a live rich display on a terminal, one plain line per
result otherwise (CI logs), and a summary table at the end."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from conformance.model import Report, Result, Status

STYLE = {Status.PASS: "green", Status.FAIL: "bold red", Status.SKIP: "dim", Status.ERROR: "yellow"}


class ConsoleProgress:
    """A runner listener. `live` chooses the rich display (default: when on a terminal)."""

    def __init__(
        self, file: TextIO | None = None, live: bool | None = None, label: str = ""
    ) -> None:
        self.console = Console(file=file, stderr=file is None, highlight=False)
        self.live = self.console.is_terminal if live is None else live
        self.label = label
        self.counts = {s: 0 for s in Status}
        self.progress: Progress | None = None
        self.task = None

    def planned(self, total: int) -> None:
        if not self.live:
            self.console.print(f"{self.label}{total} checks planned", markup=False, soft_wrap=True)
            return
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.progress.start()
        self.task = self.progress.add_task(self.label or "checking", total=total, counts="")

    def result(self, r: Result) -> None:
        self.counts[r.status] += 1
        if self.progress is None:
            line = f"{self.label}{r.status.value.upper():5} {r.label}: {r.message}"
            self.console.print(line[:400], markup=False, soft_wrap=True)
            return
        counts = " ".join(f"{s.value} {n}" for s, n in self.counts.items() if n)
        self.progress.update(self.task, advance=1, counts=counts)  # type: ignore[arg-type]
        if r.status in (Status.FAIL, Status.ERROR):
            self.progress.console.print(
                f"[{STYLE[r.status]}]{r.status.value.upper()}[/] {r.label}: {r.message[:300]}",
                markup=True,
                highlight=False,
            )

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def summary(self, report: Report) -> None:
        self.stop()
        table = Table(title=f"{report.target} ({report.duration_s:.1f} s)")
        for column in ("requirements class", "pass", "fail", "skip", "error"):
            table.add_column(column, justify="left" if column.startswith("req") else "right")
        for name, results in report.by_class().items():
            n = {s: sum(r.status is s for r in results) for s in Status}
            table.add_row(
                name,
                str(n[Status.PASS]),
                f"[red]{n[Status.FAIL]}[/]" if n[Status.FAIL] else "0",
                str(n[Status.SKIP]),
                f"[yellow]{n[Status.ERROR]}[/]" if n[Status.ERROR] else "0",
            )
        self.console.print(table)
        counts = report.summary()
        verdict = "[green]PASSED[/]" if report.ok else "[bold red]NOT PASSED[/]"
        self.console.print(
            f"{verdict} pass {counts['pass']}, fail {counts['fail']}, "
            f"skip {counts['skip']}, error {counts['error']}"
        )
