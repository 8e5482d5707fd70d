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


class DomainError(Exception):
    """A refusal the person can understand: ``message`` is shown to them, in Chinese.

    The web layer maps each kind to an HTTP status once (``yanxiu.web.errors``); domain code
    never chooses a status, and routes never match message text.
    """

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})  # form field -> what is wrong with it


class NotFound(DomainError):
    """The thing asked for does not exist (or the person may not know that it does)."""


class NotAllowed(DomainError):
    """The thing exists but lies outside what this person may see or do."""


class Conflict(DomainError):
    """The request is valid but the thing's state no longer allows it (already decided…)."""


class Invalid(DomainError):
    """What the person submitted cannot be used; ``fields`` says which field and why."""


class Malformed(DomainError):
    """A request no page of ours would send (a tampered or truncated form): reload and retry."""


class TooLarge(Invalid):
    """An upload or a field is bigger than the server accepts."""


class TooManyAttempts(DomainError):
    """Too many tries in a short time (wrong check-in codes…): wait, then try again."""


class Unavailable(DomainError):
    """A capability is not running on this server (e.g. no embedding model could be loaded)."""
