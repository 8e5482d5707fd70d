"""Titles and names people type must not carry invisible control characters.

A bidi override (U+202A–U+202E, U+2066–U+2069) makes a title display differently from what it
is ("作业‮fdp.exe" reads as "作业exe.pdf"), and a NUL truncates it in C-based tools and
PostgreSQL refuses it outright. Both are refused wherever a title or a name enters: the pydantic
schemas (:data:`PlainText`) and the domain services (:func:`check_plain`), with one Chinese
message.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from yanxiu.errors import Invalid

FORBIDDEN = re.compile("[\x00\u202a-\u202e\u2066-\u2069]")
MESSAGE = "不能含有空字符或改变文字方向的控制字符（U+202A–U+202E、U+2066–U+2069），请删除后重试"
ERROR_TYPE = "unsafe_text"  # pydantic's error type, explained in Chinese by the web layer


def has_forbidden(value: str) -> bool:
    return FORBIDDEN.search(value) is not None


def check_plain(value: str, *, field: str, label: str) -> str:
    """``value`` unchanged, or :class:`~yanxiu.errors.Invalid` naming the field (422)."""
    if has_forbidden(value):
        raise Invalid(f"{label}{MESSAGE}。", fields={field: f"{MESSAGE}。"})
    return value


def _pydantic_check(value: str) -> str:
    if has_forbidden(value):
        raise PydanticCustomError(ERROR_TYPE, MESSAGE)
    return value


# A str that refuses NUL and bidi controls: ``title: PlainText = Field(max_length=200)``.
PlainText = Annotated[str, AfterValidator(_pydantic_check)]
