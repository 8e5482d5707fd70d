"""课程检索 API：hybrid semantic search over the published catalog."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from yanxiu.errors import Unavailable
from yanxiu.web.deps import CurrentUser, ServicesDep

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")


@api.get("/search", tags=["catalog"])
def search_catalog(
    _: CurrentUser,
    services: ServicesDep,
    q: str = Query(..., min_length=1, max_length=200, description="Query, Chinese or English"),
    k: int = Query(10, ge=1, le=50),
    stage: list[str] = Query(default=[], description="学段 filter, repeatable"),
    subject: list[str] = Query(default=[], description="学科 filter, repeatable"),
    category: list[str] = Query(default=[], description="类别 filter, repeatable"),
    format: list[str] = Query(default=[], description="online / offline / hybrid"),
    mode: Literal["hybrid", "dense", "lexical"] = Query("hybrid"),
    everything: bool = Query(False, description="Rank even when nothing is a good match"),
) -> dict[str, object]:
    """Hybrid semantic search over published catalog resources, with highlighted snippets.

    A query the catalog has no good answer for gets no results and ``no_match: true``
    (unless ``everything``). Needs a login, like every other data endpoint."""
    if services.search is None:
        raise Unavailable(f"search is unavailable: {services.search_error}")
    filters = {"stage": stage, "subject": subject, "category": category, "format": format}
    found = services.search.find(q, k=k, filters=filters, mode=mode, matches_only=not everything)
    return {
        "query": q, "mode": mode, "no_match": not found.hits and mode == "hybrid",
        "match_probability": round(found.match_probability, 4),
        # a kind of question the catalog does not cover (content/search/out_of_scope.yaml)
        "outside_scope": found.outside_topic or None,
        "results": [h.as_dict() for h in found.hits],
    }  # fmt: skip
