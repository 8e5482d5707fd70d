"""The ledger pages' query: a cycle year, a category, a page (the teacher's and staff's pages)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field


class LedgerQuery(BaseModel):
    """The ledger's filters (a cycle year, a category) and page, on every ledger page."""

    year: str = Field("", max_length=2, description="培训周期第几学年（1–5），空为全部")
    category: str = Field("", max_length=32)
    page: int = Field(1, ge=1, le=10_000)

    def year_index(self) -> int | None:
        return int(self.year) if self.year.isdigit() else None


LedgerFilters = Annotated[LedgerQuery, Query()]
