"""Composition errors: every problem found is collected, then raised together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where an issue comes from: a subgraph and a 1-based line/column in its SDL."""

    subgraph: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.subgraph}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class CompositionIssue:
    """One composition problem. `code` uses Apollo's error codes where one exists."""

    code: str
    message: str
    locations: tuple[SourceLocation, ...] = field(default=())

    def __str__(self) -> str:
        where = f" (at {', '.join(str(loc) for loc in self.locations)})" if self.locations else ""
        return f"[{self.code}] {self.message}{where}"


class CompositionError(Exception):
    """Raised when subgraphs cannot be composed; `issues` lists every problem found."""

    def __init__(self, issues: Sequence[CompositionIssue]) -> None:
        self.issues: tuple[CompositionIssue, ...] = tuple(issues)
        count = len(self.issues)
        head = f"composition failed with {count} error{'s' if count != 1 else ''}"
        super().__init__(head + "".join(f"\n  - {issue}" for issue in self.issues))

    @property
    def codes(self) -> list[str]:
        return [issue.code for issue in self.issues]


class IssueCollector:
    """Accumulates issues so that one run reports as many problems as possible."""

    def __init__(self) -> None:
        self.issues: list[CompositionIssue] = []
        #: non-fatal findings (Apollo calls them hints): composition still succeeds
        self.hints: list[CompositionIssue] = []

    def hint(self, code: str, message: str, *locations: SourceLocation | None) -> None:
        locs = tuple(loc for loc in locations if loc is not None)
        self.hints.append(CompositionIssue(code, message, locs))

    def add(self, code: str, message: str, *locations: SourceLocation | None) -> None:
        locs = tuple(loc for loc in locations if loc is not None)
        self.issues.append(CompositionIssue(code, message, locs))

    def raise_if_any(self) -> None:
        if self.issues:
            raise CompositionError(self.issues)
