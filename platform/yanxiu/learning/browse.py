"""The catalog as teachers browse it: a page of published courses under filters, or the
search hits for a query (the live search box).

Browsing reads a cached snapshot of the published catalog (re-read when any course row
changes); search results are cached per query and filters for the lifetime of one search
index, so the live search box answers repeated queries without re-ranking. The filters
arrive as one query-parameter model (:class:`CatalogFilters`, :class:`CatalogQuery`) shared
by the catalog page, its live-search partial and the JSON API.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import TeacherProfile
from yanxiu.catalog.models import Course, CourseStatus
from yanxiu.catalog.schema import CATEGORIES, STAGES, SUBJECTS
from yanxiu.search.gaps import record_gap
from yanxiu.search.hybrid import CatalogSearch, SearchHit, SearchResult

FORMAT_LABELS = {"online": "线上", "offline": "线下面授", "hybrid": "线上线下混合"}
PER_PAGE = 20
SEARCH_PER_PAGE = 10
SEARCH_RESULTS = 50  # matches kept per query, shown a page at a time
RELATED_CATEGORIES = 3
MAX_QUERY = 100  # characters of a search query that are searched
FILTER_KEYS = ("stage", "subject", "category", "format")


def filter_options() -> dict[str, list[tuple[str, str]]]:
    """(value, label) choices for the catalog filters."""
    return {
        "stage": [(s, s) for s in STAGES],
        "subject": [(s, s) for s in SUBJECTS],
        "category": [(c, c) for c in CATEGORIES],
        "format": list(FORMAT_LABELS.items()),
    }


def clean_filters(raw: Mapping[str, str | None]) -> dict[str, str]:
    """Keep the known filters whose value is one of the offered choices."""
    options = filter_options()
    out = {}
    for key in FILTER_KEYS:
        value = (raw.get(key) or "").strip()
        if value and value in {v for v, _ in options[key]}:
            out[key] = value
    return out


class CatalogFilters(BaseModel):
    """The catalog's filters and page, as query parameters (the JSON API's list).

    A value that is not one of the offered choices is ignored rather than matching nothing.
    """

    stage: str | None = Field(None, description="学段, e.g. 小学")
    subject: str | None = Field(None, description="学科, e.g. 数学")
    category: str | None = Field(None, description="类别, e.g. 师德师风")
    format: str | None = Field(None, description="online / offline / hybrid")
    page: int = Field(1, ge=1, le=10_000)
    size: int | None = Field(None, ge=1, le=50, description="results per page")

    def chosen(self) -> dict[str, str]:
        """The filters that apply (known keys with an offered value)."""
        return clean_filters({key: getattr(self, key) for key in FILTER_KEYS})


class CatalogQuery(CatalogFilters):
    """The catalog page's parameters: the filters and what is typed in the search box."""

    q: str = ""

    @property
    def query(self) -> str:
        """The query as searched: trimmed, at most ``MAX_QUERY`` characters."""
        return self.q.strip()[:MAX_QUERY]


# -- browsing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CourseCard:
    """What a catalog list shows of a course."""

    code: str
    title: str
    summary: str
    category: str
    stages: tuple[str, ...]
    subjects: tuple[str, ...]
    format: str
    hours: float

    @property
    def format_label(self) -> str:
        return FORMAT_LABELS.get(self.format, self.format)

    def matches(self, filters: Mapping[str, str]) -> bool:
        for key, value in filters.items():
            if key == "stage" and value not in self.stages:
                return False
            if key == "subject" and value not in self.subjects:
                return False
            if key == "category" and value != self.category:
                return False
            if key == "format" and value != self.format:
                return False
        return True


@dataclass(frozen=True)
class Page:
    items: list[CourseCard]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


class CatalogSnapshot:
    """The published catalog in memory, re-read when a course row is added or changed."""

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._cards: list[CourseCard] = []
        self._lock = threading.Lock()

    def cards(self, session: Session) -> list[CourseCard]:
        key = tuple(
            session.execute(select(func.count(Course.id), func.max(Course.updated_at))).one()
        )
        with self._lock:
            if key == self._key:
                return self._cards
        rows = session.execute(
            select(
                Course.code,
                Course.title,
                Course.summary,
                Course.category,
                Course.stages,
                Course.subjects,
                Course.format,
                Course.hours,
            )  # fmt: skip
            .where(Course.status == CourseStatus.PUBLISHED)
            .order_by(Course.code)
        ).all()
        cards = [
            CourseCard(
                code,
                title,
                summary,
                category,
                tuple(stages or ()),
                tuple(subjects or ()),
                str(getattr(fmt, "value", fmt)),
                float(hours),
            )  # fmt: skip
            for code, title, summary, category, stages, subjects, fmt, hours in rows
        ]
        with self._lock:
            self._key, self._cards = key, cards
        return cards


_snapshot = CatalogSnapshot()


def browse(
    session: Session,
    *,
    filters: Mapping[str, str] | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
    snapshot: CatalogSnapshot | None = None,
) -> Page:
    """One page of the published catalog under ``filters`` (ordered by course code)."""
    cards = (snapshot or _snapshot).cards(session)
    flt = dict(filters or {})
    matching = [c for c in cards if c.matches(flt)] if flt else cards
    pages = max(1, math.ceil(len(matching) / per_page))
    page = min(max(1, page), pages)
    start = (page - 1) * per_page
    return Page(matching[start : start + per_page], len(matching), page, per_page)


# -- search ----------------------------------------------------------------------------------


class SearchCache:
    """Search results per (index, synonym table, query, filters, prior, k); the least
    recently asked are forgotten."""

    def __init__(self, max_entries: int = 1024) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[tuple[Any, ...], SearchResult] = OrderedDict()
        self._lock = threading.Lock()

    def search(
        self, service: CatalogSearch, query: str, *, filters: Mapping[str, str], k: int,
        prior: Mapping[str, tuple[str, ...]] | None = None,
    ) -> SearchResult:  # fmt: skip
        prior_key = tuple(sorted((prior or {}).items()))
        key = (
            id(service), service.revision, len(service.docs), query.strip(),
            tuple(sorted(filters.items())), k, prior_key,
        )  # fmt: skip
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        found = service.find(
            query, k=k, filters={f: [v] for f, v in filters.items()}, prior=prior,
            matches_only=True,
        )  # fmt: skip
        with self._lock:
            self._items[key] = found
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return found


_search_cache = SearchCache()


def search_catalog(
    service: CatalogSearch,
    query: str,
    *,
    filters: Mapping[str, str] | None = None,
    k: int = 20,
    cache: SearchCache | None = None,
) -> list[SearchHit]:
    """Published resources matching ``query`` (hybrid search), with highlighted snippets."""
    if not query.strip():
        return []
    found = (cache or _search_cache).search(service, query, filters=dict(filters or {}), k=k)
    return found.hits


# -- the catalog page's results --------------------------------------------------------------


@dataclass(frozen=True)
class SearchPage:
    """One page of the matches for a query."""

    hits: list[SearchHit]
    total: int
    page: int
    per_page: int
    understood: list[str]  # how the query was read (synonyms, pinyin, stage, subject)
    related: list[str]  # categories to browse when nothing matched
    outside_topic: str = ""  # when nothing matched: the kind of question the catalog lacks

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_rank(self) -> int:
        return (self.page - 1) * self.per_page + 1


@dataclass(frozen=True)
class CatalogResults:
    """The results list: the search hits for a query, else one page of the catalog."""

    q: str
    filters: dict[str, str]
    query_string: str  # the query and filters, for links that keep them
    address_query: str  # the query string that shows these results again (the address bar)
    hits: list[SearchHit] | None  # None: browsing, not searching
    page: Page | None  # None: showing search hits
    search_unavailable: str  # why a query could not be searched ("" when it was)
    format_labels: Mapping[str, str] = field(default_factory=lambda: FORMAT_LABELS)
    search: SearchPage | None = None  # the page of matches when searching

    @property
    def no_match(self) -> bool:
        return self.search is not None and self.search.total == 0


def profile_prior(session: Session, user_id: int | None) -> dict[str, tuple[str, ...]]:
    """A teacher's stage and subjects, a soft preference for their search results."""
    profile = session.get(TeacherProfile, user_id) if user_id else None
    if profile is None:
        return {}
    return {"stage": (profile.stage,), "subject": tuple(profile.subjects or ())}


def catalog_results(
    session: Session,
    asked: CatalogQuery,
    *,
    search: CatalogSearch | None,
    search_error: str = "",
    user_id: int | None = None,
) -> CatalogResults:
    """Search hits for the query (when search is up), else a page of the catalog; both under
    the chosen filters. ``search_error`` says why ``search`` is None. A query with no match
    is counted, anonymised, as a catalog gap (课程缺口) the first time its page is shown."""
    q, filters = asked.query, asked.chosen()
    query_string = urlencode({k: v for k, v in {"q": q, **filters}.items() if v})
    if asked.size:
        query_string += f"{'&' if query_string else ''}size={asked.size}"
    address = query_string
    if asked.page > 1:
        address += f"{'&' if address else ''}page={asked.page}"
    hits, page, unavailable, found = None, None, "", None
    if q and search is not None:
        prior = profile_prior(session, user_id)
        result = _search_cache.search(search, q, filters=filters, k=SEARCH_RESULTS, prior=prior)
        found = _search_page(search, result, asked, filters)
        hits = found.hits
        if not result.hits and asked.page == 1:
            parsed = result.parsed
            record_gap(
                session, q,
                stage=(parsed.stages or list(prior.get("stage", ())) or [""])[0],
                subject=(parsed.subjects or list(prior.get("subject", ())) or [""])[0],
            )  # fmt: skip
    else:
        if q:  # search is down: list the catalog under the filters instead
            unavailable = search_error or "-"
        page = browse(session, filters=filters, page=asked.page, per_page=asked.size or PER_PAGE)
    return CatalogResults(q, filters, query_string, address, hits, page, unavailable, search=found)


def _search_page(
    service: CatalogSearch, result: SearchResult, asked: CatalogQuery, filters: Mapping[str, str]
) -> SearchPage:
    per_page = asked.size or SEARCH_PER_PAGE
    total = len(result.hits)
    pages = max(1, math.ceil(total / per_page))
    number = min(asked.page, pages)
    start = (number - 1) * per_page
    parsed = result.parsed
    understood = [*parsed.expansions, *parsed.stages, *parsed.subjects]
    if parsed.pinyin:
        understood.insert(0, parsed.text.split(" ")[0])
    related: list[str] = []
    if not total:  # the nearest categories, from the best candidates below the threshold
        nearest = service.find(asked.query, k=10, filters={f: [v] for f, v in filters.items()})
        for hit in nearest.hits:
            if hit.doc.category not in related:
                related.append(hit.doc.category)
        related = related[:RELATED_CATEGORIES]
    return SearchPage(
        result.hits[start : start + per_page], total, number, per_page, understood, related,
        result.outside_topic if not total else "",
    )  # fmt: skip
