"""The long-lived services of one process, built once and shared by routes, jobs and the CLI.

:class:`Services` is what the web app keeps on ``app.state.services``: the settings, the
database, the credit policy, the job registry, and the heavy things that load once (the
embedder, the catalog's FAISS index, the path recommender), plus the per-process caches.
Routes receive it through ``yanxiu.web.deps.ServicesDep`` and never reach into
``app.state`` themselves.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from filelock import FileLock
from sqlalchemy.orm import Session, sessionmaker

from yanxiu.accounts.roster import RosterRules
from yanxiu.accounts.roster_job import run_roster_job
from yanxiu.accounts.scope import Scope
from yanxiu.catalog.import_job import run_import_job
from yanxiu.catalog.service import competency_texts
from yanxiu.config import Settings
from yanxiu.credits.policy import CreditPolicy, load_policies
from yanxiu.db import change_counters, session_scope
from yanxiu.errors import Invalid, NotAllowed, NotFound
from yanxiu.jobqueue import JobQueue
from yanxiu.jobs import Job, Progress, job_handler
from yanxiu.practice.agreement import load_calibration
from yanxiu.practice.diagnosis import ResourceFinder
from yanxiu.practice.rescore import rescore_pending
from yanxiu.practice.resources import search_resource_finder
from yanxiu.practice.service import tagged_resource_finder
from yanxiu.recommend.service import PathRecommender, build_recommender, load_ranker
from yanxiu.reports import snapshot
from yanxiu.reports.dashboard import PathCache
from yanxiu.runtime import get_session_factory
from yanxiu.search.catalog_index import query_understanding
from yanxiu.search.embed import Embedder, EmbedderUnavailable, LexicalEmbedder
from yanxiu.search.embed_cache import EmbeddingCache
from yanxiu.search.hybrid import CatalogSearch
from yanxiu.search.service import catalog_search_from_settings, site_synonyms
from yanxiu.studios.push import warm_up as push_warm_up

log = logging.getLogger(__name__)
# How often a process checks whether another one changed the catalog (one indexed read).
CATALOG_POLL_SECONDS = 3.0


@dataclass
class Services:
    """Everything a request or a job needs beyond its database session."""

    settings: Settings
    session_factory: sessionmaker[Session]
    policy: CreditPolicy
    jobs: JobQueue
    search: CatalogSearch | None = None
    search_error: str = ""  # why search is unavailable, shown on the pages that need it
    recommender: PathRecommender | None = None
    # per-teacher caches, kept while the teacher's activity fingerprint is unchanged
    path_cache: PathCache[Any] = field(default_factory=PathCache)
    # generated passwords of jobs started here, shown once to their owner (never stored)
    job_secrets: dict[int, dict[str, Any]] = field(default_factory=dict)
    dashboard_cache: PathCache[Any] = field(default_factory=PathCache)
    _embed_cache: EmbeddingCache | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # the catalog's change counter when this process's index was built (None: not built)
    _catalog_version: int | None = field(default=None, repr=False)
    # the synonyms' change counter when this process's query parser was built
    _synonyms_version: int | None = field(default=None, repr=False)
    _reload_lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _watch_stop: threading.Event | None = field(default=None, repr=False)

    @classmethod
    def create(cls, settings: Settings) -> Services:
        """The light part: nothing here loads a model (see :meth:`load_search`)."""
        factory = get_session_factory(settings)
        services = cls(
            settings=settings,
            session_factory=factory,
            policy=load_policies(settings.content_dir / "policies")[settings.policy],
            jobs=JobQueue(settings, factory),
        )
        services.jobs.context = services  # what this process's consumer hands each job
        return services

    # -- the heavy, load-once part

    def load_search(self) -> None:
        """Load the embedder, sync the catalog index and build the recommender over it.

        If the embedding model cannot be loaded the app still serves; search and paths say
        why they are unavailable (``search_error``).
        """
        cache = self.embed_cache()
        if cache is None:
            self.search_error = f"无法写入嵌入缓存目录 {self.settings.data_dir / 'embeddings'}"
            return
        # Server processes sharing data_dir start one at a time: the first embeds what the
        # cache lacks, the others then read it (all at once, each embedded everything).
        with FileLock(f"{self.settings.data_dir / 'embeddings'}.startup.lock"):
            self._load_search(cache)

    def _load_search(self, cache: EmbeddingCache) -> None:
        try:
            with session_scope(self.session_factory) as session:
                version = change_counters.version(session, "catalog")  # before reading it
                synonyms = change_counters.version(session, "synonyms")
                search, _ = catalog_search_from_settings(self.settings, session)
                search.embedder.warm_up()  # so the first teacher's query does not build it
                ranker, label = load_ranker(self.settings.models_dir, self.settings.embed_backend)
                recommender = build_recommender(
                    session, search, cache=cache, ranker=ranker, ranker_name=label
                )
                # the push wizard's texts, so its first open embeds nothing (issue 21)
                push_warm_up(session, search.embedder, cache)
        except EmbedderUnavailable as exc:
            log.error("search unavailable: %s", exc)
            self.search_error = str(exc)
            return
        self.search, self.recommender, self.search_error = search, recommender, ""
        self._catalog_version, self._synonyms_version = version, synonyms

    def rebuild_search(self) -> str:
        """After a catalog import: a fresh index synced with the catalog, and the recommender
        over it (keeping its ranker). Returns what happened, in Chinese, for the job page."""
        with self._reload_lock:  # the import job and the catalog watch: one at a time
            return self._rebuild_search()

    def _rebuild_search(self) -> str:
        previous = self.recommender
        with session_scope(self.session_factory) as session:
            version = change_counters.version(session, "catalog")  # before reading the catalog
            synonyms = change_counters.version(session, "synonyms")
            search, report = catalog_search_from_settings(self.settings, session)
            recommender = None
            if previous is not None:
                recommender = build_recommender(
                    session, search, cache=previous.vectors.cache, ranker=previous.ranker,
                    ranker_name=previous.ranker_name,
                )  # fmt: skip
        self.search, self.search_error = search, ""
        if recommender is not None:
            self.recommender = recommender
        self._catalog_version, self._synonyms_version = version, synonyms
        how = "重建" if report.rebuilt else "同步"
        note = (
            f"搜索索引已{how}：新增 {report.added} 条、更新 {report.updated} 条、"
            f"移除 {report.removed} 条，新课程现在可以搜索到。"
        )
        if previous is None:
            note += "（研修路径推荐服务未启用，重启服务后生效。）"
        return note

    def refresh_search_if_changed(self) -> bool:
        """Reload the index and the recommender if the catalog changed since they were built
        (another process imported or edited courses: the database's ``catalog`` counter moved);
        rebuild only the query parser if just the site's synonyms changed (``synonyms``
        counter: an admin added or removed one in any process). Two indexed reads when
        nothing changed; returns whether anything was rebuilt."""
        if self.search is None:
            return False  # not loaded (the CLI, or the model is unavailable): nothing to renew
        catalog, synonyms = self._versions()
        if catalog == self._catalog_version and synonyms == self._synonyms_version:
            return False
        with self._reload_lock:  # one reload at a time; a second caller finds it done
            catalog, synonyms = self._versions()
            if catalog is not None and catalog != self._catalog_version:
                log.info("the catalog changed (version %s → %s): reloading the search index",
                         self._catalog_version, catalog)  # fmt: skip
                self.rebuild_search()
                return True
            if synonyms is not None and synonyms != self._synonyms_version:
                log.info("the synonyms changed (version %s → %s): rebuilding the query parser",
                         self._synonyms_version, synonyms)  # fmt: skip
                self._rebuild_understanding()
                return True
        return False

    def refresh_synonyms_if_changed(self) -> bool:
        """Rebuild the query parser now if the site's synonyms changed since it was built (the
        synonyms page, so that what it shows is what teachers get; never the index)."""
        if self.search is None:
            return False
        with self._reload_lock:
            with self.session_factory() as session:
                current = change_counters.version(session, "synonyms")
            if current is None or current == self._synonyms_version:
                return False
            self._rebuild_understanding()
        return True

    def _versions(self) -> tuple[int | None, int | None]:
        with self.session_factory() as session:
            return (change_counters.version(session, "catalog"),
                    change_counters.version(session, "synonyms"))  # fmt: skip

    def _rebuild_understanding(self) -> None:
        """The query parser over the synonym table in force (the index stays: a fraction of a
        second, against seconds to minutes for the index)."""
        search = self.search
        if search is None:
            return
        with session_scope(self.session_factory) as session:
            version = change_counters.version(session, "synonyms")  # before reading the table
            synonyms = site_synonyms(self.settings, session)
        parser, unknown = query_understanding(search.docs, synonyms)
        search.set_understanding(parser, unknown)
        self._synonyms_version = version

    def start_catalog_watch(self, every: float = CATALOG_POLL_SECONDS) -> None:
        """Check for catalog and synonym changes every ``every`` seconds on a thread (each
        server and worker process; reloading happens there, never on a request, except that
        the synonyms page itself rebuilds the parser it is about to show)."""
        with self._lock:
            if self._watch_stop is not None:
                return
            stop = self._watch_stop = threading.Event()

        def watch() -> None:
            while not stop.wait(every):
                try:
                    self.refresh_search_if_changed()
                except Exception:  # the database away for a moment: keep the old index
                    log.exception("cannot check the catalog for changes")

        threading.Thread(target=watch, name="catalog-watch", daemon=True).start()

    def stop_catalog_watch(self) -> None:
        with self._lock:
            stop, self._watch_stop = self._watch_stop, None
        if stop is not None:
            stop.set()

    # -- what the heavy part offers, with fallbacks when it is not loaded

    def embed_cache(self) -> EmbeddingCache | None:
        """The process's embedding cache under ``data_dir/embeddings`` (None if unwritable)."""
        with self._lock:
            if self._embed_cache is None:
                try:
                    self._embed_cache = EmbeddingCache(self.settings.data_dir / "embeddings")
                except OSError:  # a read-only data dir: work without a cache
                    return None
            return self._embed_cache

    def embedder(self) -> Embedder:
        """The catalog search's embedder when search is up, else the model-free lexical one."""
        if self.search is not None:
            return self.search.embedder
        return _plain_lexical()

    def resource_finder(self, session: Session, *, subject: str = "") -> ResourceFinder:
        """Catalog resources for a diagnosed weakness: semantic search when the index is
        loaded, else the courses tagged with the weakness's competency."""
        if self.search is not None:
            return search_resource_finder(self.search, competency_texts(session))
        return tagged_resource_finder(session, subject=subject)

    def calibration(self) -> dict[str, dict[int, int]]:
        """The rubric calibration learned from this site's trainer edits (empty if none)."""
        return load_calibration(self.settings.models_dir)

    # -- background jobs

    def submit_job(
        self, handler: str, title: str, *, owner_id: int, params: dict[str, Any] | None = None,
        secret: dict[str, Any] | None = None,
    ) -> Job:  # fmt: skip
        """Queue a job of a registered kind (any worker process may run it). ``secret`` (a
        generated password to show its owner once) stays in this process's memory, never in
        the database: :meth:`job_detail` adds it to the job page here."""
        job = self.jobs.submit(handler, title, owner_id=owner_id, params=params)
        if secret:
            with self._lock:
                self.job_secrets[job.id] = dict(secret)
        return job

    def job_detail(self, job: Job) -> dict[str, Any] | None:
        """What the job page shows of the job's outcome (with this process's secret, if any)."""
        secret = self.job_secrets.get(job.id)
        if job.detail is None:
            return None
        return {**job.detail, **(secret or {})}

    def roster_rules(self, cycle_start: str = "") -> RosterRules:
        """What roster rows are checked against: the policy's tiers, the cycle start (default:
        this school year's 1 September)."""
        today = date.today()
        try:
            start = date.fromisoformat(cycle_start) if cycle_start else school_year_start(today)
        except ValueError:
            raise Invalid(
                "周期开始日期应写成 2024-09-01 的格式。", fields={"cycle_start": "格式不正确"}
            ) from None
        return RosterRules(tiers=tuple(self.policy.tiers), induction_tier=self.policy.induction_tier,
                           cycle_start=start, today=today)  # fmt: skip

    def visible_job(self, session: Session, scope: Scope, job_id: int) -> Job:
        """A job this user may oversee (:meth:`Scope.can_oversee`), else NotAllowed/NotFound."""
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFound("没有这个后台任务。")
        if not scope.can_oversee(session, job.owner_id):
            raise NotAllowed("无权访问：只能查看自己发起或本辖区用户发起的后台任务。")
        return job

    def visible_jobs(self, session: Session, scope: Scope, kind: str | None = None) -> list[Job]:
        """The jobs this user may oversee, newest first (of one ``kind`` if given)."""
        return [j for j in self.jobs.list(kind=kind) if scope.can_oversee(session, j.owner_id)]

    def ensure_compliance_snapshot(self, session: Session, today: date) -> None:
        """Queue a refresh of the compliance snapshots when none serves ``today`` (the first
        dashboard of the day; a nightly ``yanxiu report refresh`` makes this rare) and none is
        already queued or running. Until it finishes, dashboards compute from the ledger."""
        if snapshot.serves(session, self.policy, today):
            return
        if any(j.active for j in self.jobs.list(kind="compliance_refresh")):
            return
        self.jobs.submit("compliance_refresh", "学时达标快照刷新", owner_id=None,
                         params={"today": today.isoformat()})  # fmt: skip

    def close(self) -> None:
        self.stop_catalog_watch()
        if self._embed_cache is not None:
            self._embed_cache.close()
            self._embed_cache = None


@lru_cache(maxsize=1)
def _plain_lexical() -> LexicalEmbedder:
    return LexicalEmbedder()


# -- the kinds of background job (the same names in every process that runs jobs)


@job_handler("import")
def _catalog_import(services: Services, progress: Progress, params: dict[str, Any]) -> str:
    return run_import_job(progress, params, factory=services.session_factory,
                          refresh_index=services.rebuild_search)  # fmt: skip


@job_handler("score")
def _rescore(services: Services, progress: Progress, params: dict[str, Any]) -> str:
    work = rescore_pending(
        services.session_factory, reviewer_id=int(params["reviewer_id"]),
        resource_finder=services.resource_finder, calibration=services.calibration(),
    )  # fmt: skip
    return work(progress)


@job_handler("roster")
def _roster_import(services: Services, progress: Progress, params: dict[str, Any]) -> str:
    return run_roster_job(progress, params, factory=services.session_factory,
                          rules=services.roster_rules(str(params.get("cycle_start") or "")))  # fmt: skip


@job_handler("compliance_refresh", rerunnable=True)  # recomputes the same snapshots
def _compliance_refresh(services: Services, progress: Progress, params: dict[str, Any]) -> str:
    today = date.fromisoformat(str(params["today"]))
    reported = 0

    def report(done: int, total: int) -> None:
        nonlocal reported
        progress.set_total(total)
        progress.advance(done - reported)
        reported = done

    with services.session_factory() as session:
        done = snapshot.refresh(session, policy=services.policy, today=today, progress=report)
    return f"已刷新 {done} 名教师的学时达标快照（截至 {today.isoformat()}）"


def school_year_start(today: date) -> date:
    return date(today.year if today.month >= 9 else today.year - 1, 9, 1)
