"""Errors that carry enough context for a person to fix their input."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and what to do about it."""

    where: str  # file name, optionally with ":line" or "row N"
    item: str  # id of the item, or "" when the problem is with the file itself
    message: str

    def __str__(self) -> str:
        item = f" [{self.item}]" if self.item else ""
        return f"{self.where}{item}: {self.message}"


class InputError(Exception):
    """Bad input, refused whole; ``problems`` lists every issue found, not just the first."""

    def __init__(self, problems: list[Problem], summary: str = "") -> None:
        self.problems = problems
        head = summary or f"{len(problems)} problem(s) found; nothing was changed"
        lines = [head] + [f"  - {p}" for p in problems[:200]]
        if len(problems) > 200:
            lines.append(f"  … and {len(problems) - 200} more")
        super().__init__("\n".join(lines))
