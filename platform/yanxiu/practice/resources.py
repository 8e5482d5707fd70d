"""Finding catalog resources for a diagnosed weakness through semantic search."""

from __future__ import annotations

from yanxiu.practice.diagnosis import ResourceFinder
from yanxiu.practice.draft import ResourceLink
from yanxiu.search.hybrid import CatalogSearch


def search_resource_finder(
    search: CatalogSearch, competency_texts: dict[str, str]
) -> ResourceFinder:
    """A finder that searches with the competency's description, within the teacher's stage
    and subject (courses for that subject or for every subject), and puts resources tagged with
    that competency first."""

    def find(competency: str, query: str, stage: str, subject: str = "") -> list[ResourceLink]:
        text = competency_texts.get(competency, "") or query
        filters: dict[str, list[str]] = {}
        if stage:
            filters["stage"] = [stage]
        if subject:
            filters["subject"] = [subject, "通用"]
            text = f"{subject} {text}"
        hits = search.search(text, k=10, filters=filters or None)
        hits.sort(
            key=lambda h: competency not in h.doc.competencies
        )  # stable: rank kept within groups
        return [
            ResourceLink(code=h.doc.code, title=h.doc.title, hours=h.doc.hours, category=h.doc.category,
                         tagged=competency in h.doc.competencies)
            for h in hits[:3]
        ]  # fmt: skip

    return find
