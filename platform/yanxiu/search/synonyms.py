"""The synonym and abbreviation table in force: the shipped entries and this site's own.

The shipped table (``content/search/synonyms.yaml``, reviewed with the code) is read-only
here. A site adds its own entries in the database (:class:`~yanxiu.search.models.SiteSynonym`,
the admin page 检索同义词 or ``yanxiu synonyms add``); removing one keeps it as history. A
site alias may take over a shipped one only through the legacy import (the pre-0015 file
``<data_dir>/search_synonyms.yaml`` overrode the shipped table, and keeps doing so); an admin
adding an alias that any entry in force already has is refused and told which entry.

Every write moves the ``synonyms`` change counter (triggers, migration 0015): each server
process polls it and rebuilds its query parser (``Services.refresh_search_if_changed``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yanxiu.accounts.models import User
from yanxiu.audit.service import record_audit
from yanxiu.catalog.models import Course, CourseStatus
from yanxiu.db.base import utcnow
from yanxiu.errors import Conflict, Invalid, NotFound
from yanxiu.search.models import SiteSynonym, SiteSynonymAlias
from yanxiu.search.query import Synonym, load_synonyms

log = logging.getLogger(__name__)

MAX_ALIAS = 30
MAX_EXPANSION = 100
MAX_ALIASES = 20
MIN_ALIAS = 2  # one character (课, 学) is inside far too many queries
# what separates aliases typed in one box (a space does not: "project based learning")
ALIAS_SEPARATORS = re.compile(r"[、，,；;\n\r\t]+")
_SPACES = re.compile(r"\s+")
ORIGIN_LABELS = {"admin": "管理员", "cli": "命令行", "legacy": "旧版同义词文件"}


@dataclass(frozen=True)
class SynonymEntry:
    """One row of the table in force (or of the removal history)."""

    id: int | None  # None: a shipped entry
    aliases: tuple[str, ...]
    expansion: str
    shipped: bool
    added_by: str = ""  # who added it (name, or where it came from)
    added_at: datetime | None = None
    removed_by: str = ""
    removed_at: datetime | None = None
    overridden: tuple[str, ...] = ()  # shipped aliases a site entry took over

    @property
    def label(self) -> str:
        return f"{'、'.join(self.aliases)} → {self.expansion}"


@dataclass(frozen=True)
class SynonymTable:
    entries: list[SynonymEntry]  # in force: shipped first, then the site's, oldest first
    removed: list[SynonymEntry]  # the site's removed entries, last removed first

    @property
    def site_count(self) -> int:
        return sum(not e.shipped for e in self.entries)

    @property
    def shipped_count(self) -> int:
        return sum(e.shipped for e in self.entries)


@dataclass(frozen=True)
class Added:
    entry: SynonymEntry
    warnings: list[str]  # what the admin should know (words no published course uses)


# -- normalising and checking what was typed ---------------------------------------------


def normalise_alias(alias: str) -> str:
    """As the query parser compares it: NFKC, single spaces, lower case."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", alias)).strip().lower()


def normalise_expansion(expansion: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", expansion)).strip()


def split_aliases(typed: str) -> list[str]:
    """Aliases typed in one box, separated by 、，, ; or new lines."""
    return [a for a in ALIAS_SEPARATORS.split(typed) if a.strip()]


def check_entry(aliases: Sequence[str], expansion: str) -> tuple[list[str], str]:
    """The aliases (normalised, duplicates dropped) and expansion, or :class:`Invalid` naming
    every problem found."""
    clean: list[str] = []
    for typed in aliases:
        for alias in split_aliases(typed):
            a = normalise_alias(alias)
            if re.search(r"\w", a) and a not in clean:  # punctuation alone is no alias
                clean.append(a)
    text = normalise_expansion(expansion)
    problems: dict[str, str] = {}
    if not clean:
        problems["aliases"] = "请至少填写一个别名（如 PBL、项目化学习），多个别名用顿号或逗号分隔。"
    elif len(clean) > MAX_ALIASES:
        problems["aliases"] = f"一个条目最多 {MAX_ALIASES} 个别名，请拆成几个条目。"
    else:
        long = [a for a in clean if len(a) > MAX_ALIAS]
        short = [a for a in clean if len(a) < MIN_ALIAS]
        same = [a for a in clean if a == text.lower()]
        if long:
            problems["aliases"] = (
                f"别名“{long[0]}”太长（{len(long[0])} 个字符），每个别名最多 {MAX_ALIAS} 个字符。"
            )
        elif short:
            problems["aliases"] = (
                f"别名“{short[0]}”只有一个字符：它会出现在大量检索词里，请写得更完整。"
            )
        elif same:
            problems["aliases"] = f"别名“{same[0]}”与扩展词相同：检索它本来就会找它，无需添加。"
    if not text:
        problems["expansion"] = "请填写扩展词：检索到别名时要一并检索的说法（如 项目式学习）。"
    elif len(text) > MAX_EXPANSION:
        problems["expansion"] = f"扩展词太长（{len(text)} 个字符），最多 {MAX_EXPANSION} 个字符。"
    if problems:
        raise Invalid("；".join(problems.values()), fields=problems)
    return clean, text


def unknown_words(expansion: str, catalog_text: str) -> list[str]:
    """The expansion's words (jieba; Chinese words of two characters or more, Latin words)
    that no published course uses."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    words = []
    for word in jieba.lcut(expansion.lower()):
        word = word.strip()
        chinese = re.fullmatch(r"[\u4e00-\u9fff]{2,}", word)
        latin = re.fullmatch(r"[a-z][a-z0-9.+]+", word)
        if (chinese or latin) and word not in words:
            words.append(word)
    return [w for w in words if w not in catalog_text]


def published_text(session: Session) -> str:
    """What search matches: the published courses' titles, summaries, outlines and 典型困惑
    (``CatalogDoc.search_text``), lower-cased, to tell an admin an expansion would find
    nothing."""
    rows = session.execute(
        select(Course.title, Course.summary, Course.outline, Course.problems).where(
            Course.status == CourseStatus.PUBLISHED
        )
    ).all()
    parts: list[str] = []
    for title, summary, outline, problems in rows:
        parts += [title, summary, *(outline or ()), *(problems or ())]
    return "\n".join(parts).lower()


def expansion_warnings(expansion: str, catalog_text: str) -> list[str]:
    unknown = unknown_words(expansion, catalog_text)
    if not unknown:
        return []
    quoted = "、".join(f"“{w}”" for w in unknown)
    if len(unknown) == len(unknown_words(expansion, "")):
        return [
            f"注意：扩展词中的 {quoted} 在已发布课程里都没有出现，这条同义词暂时检索不到课程。"
            "请改用课程目录里的说法，或先补充相关课程。"
        ]
    return [f"注意：扩展词中的 {quoted} 在已发布课程里没有出现，这几个词对检索不起作用。"]


# -- the table in force --------------------------------------------------------------------


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {int(i): str(n) for i, n in rows}


def _site_rows(session: Session, *, removed: bool) -> list[SiteSynonym]:
    query = select(SiteSynonym)
    if removed:
        query = query.where(SiteSynonym.removed_at.is_not(None)).order_by(
            SiteSynonym.removed_at.desc(), SiteSynonym.id.desc()
        )
    else:
        query = query.where(SiteSynonym.removed_at.is_(None)).order_by(SiteSynonym.id)
    return list(session.scalars(query))


def _entry(row: SiteSynonym, names: dict[int, str]) -> SynonymEntry:
    added = names.get(row.added_by or 0) or ORIGIN_LABELS.get(row.origin, row.origin)
    return SynonymEntry(
        row.id, tuple(a.alias for a in row.aliases), row.expansion, False, added, row.added_at,
        names.get(row.removed_by or 0, "命令行或系统" if row.removed_at else ""), row.removed_at,
    )  # fmt: skip


def synonym_table(session: Session, shipped_file: Path) -> SynonymTable:
    """The table in force (shipped entries, minus aliases a site entry took over, then the
    site's) and the site's removed entries."""
    live, gone = _site_rows(session, removed=False), _site_rows(session, removed=True)
    ids = {i for r in live + gone for i in (r.added_by, r.removed_by) if i}
    names = _names(session, ids)
    site = [_entry(r, names) for r in live]
    taken = {a for e in site for a in e.aliases}
    shipped = []
    for s in load_synonyms(shipped_file):
        kept = tuple(a for a in s.aliases if a not in taken)
        if kept:
            lost = tuple(a for a in s.aliases if a in taken)
            shipped.append(SynonymEntry(None, kept, s.expansion, True, "内置", overridden=lost))
    return SynonymTable(shipped + site, [_entry(r, names) for r in gone])


def synonyms_in_force(session: Session, shipped_file: Path) -> list[Synonym]:
    """What the query parser uses: :func:`synonym_table`'s entries."""
    return [Synonym(e.aliases, e.expansion) for e in synonym_table(session, shipped_file).entries]


def _holder(
    session: Session, shipped_file: Path, aliases: Sequence[str]
) -> tuple[str, SynonymEntry] | None:
    """The first of ``aliases`` an entry in force already has, and that entry."""
    for entry in synonym_table(session, shipped_file).entries:
        for alias in aliases:
            if alias in entry.aliases:
                return alias, entry
    return None


def _taken(alias: str, entry: SynonymEntry) -> Conflict:
    kind = "内置条目" if entry.shipped else f"本站条目（{entry.added_by}添加）"
    return Conflict(
        f"别名“{alias}”已属于{kind}“{entry.label}”。一个别名只能对应一个条目："
        + (
            "内置条目不能修改，请换一个别名。"
            if entry.shipped
            else "如要改动，请先移除该条目再添加。"
        ),
        fields={"aliases": f"“{alias}”已被使用"},
    )


# -- adding and removing -------------------------------------------------------------------


def add_site_synonym(
    session: Session,
    *,
    actor_id: int | None,
    aliases: Sequence[str],
    expansion: str,
    shipped_file: Path,
    origin: str = "admin",
    catalog_text: str | None = None,
) -> Added:
    """Add a site entry. :class:`Invalid` for what cannot be used (empty, overlong, an alias
    equal to the expansion), :class:`Conflict` when an entry in force has one of the aliases
    (also when another request added it a moment ago). The warnings name expansion words no
    published course uses (``catalog_text``; read from the database when not given)."""
    clean, text = check_entry(aliases, expansion)
    held = _holder(session, shipped_file, clean)
    if held is not None:
        raise _taken(*held)
    row = SiteSynonym(expansion=text, origin=origin, added_by=actor_id, added_at=utcnow())
    try:
        with session.begin_nested():  # a concurrent add of the same alias: the unique index
            session.add(row)
            session.flush()
            for position, alias in enumerate(clean):
                session.add(SiteSynonymAlias(synonym_id=row.id, alias=alias, position=position))
            session.flush()
    except IntegrityError:
        session.expire_all()
        held = _holder(session, shipped_file, clean)
        if held is not None:
            raise _taken(*held) from None
        raise Conflict("另一位管理员刚刚添加了同样的别名，请刷新页面查看。") from None
    session.refresh(row)
    record_audit(session, actor_id=actor_id, action="synonym.add", entity="search_synonym",
                 entity_id=row.id, detail={"aliases": clean, "expansion": text, "origin": origin})  # fmt: skip
    warnings = expansion_warnings(
        text, published_text(session) if catalog_text is None else catalog_text
    )
    return Added(_entry(row, _names(session, {actor_id} if actor_id else set())), warnings)


def remove_site_synonym(session: Session, *, actor_id: int | None, synonym_id: int) -> SynonymEntry:
    """Take a site entry out of force (kept, with who removed it and when)."""
    now = utcnow()
    done = session.execute(
        update(SiteSynonym)
        .where(SiteSynonym.id == synonym_id, SiteSynonym.removed_at.is_(None))
        .values(removed_at=now, removed_by=actor_id)
    ).rowcount  # type: ignore[attr-defined]
    row = session.get(SiteSynonym, synonym_id)
    if row is None:
        raise NotFound("没有这个同义词条目（内置条目不能移除）。")
    if not done:
        raise Conflict(
            f"条目“{'、'.join(a.alias for a in row.aliases)} → {row.expansion}”已经移除过了。"
        )
    session.execute(
        update(SiteSynonymAlias)
        .where(SiteSynonymAlias.synonym_id == synonym_id)
        .values(removed_at=now)
    )
    session.refresh(row)
    aliases = [a.alias for a in row.aliases]
    record_audit(session, actor_id=actor_id, action="synonym.remove", entity="search_synonym",
                 entity_id=row.id, detail={"aliases": aliases, "expansion": row.expansion})  # fmt: skip
    return _entry(row, _names(session, {i for i in (row.added_by, actor_id) if i}))


# -- the pre-0015 file ---------------------------------------------------------------------


def import_legacy_file(session: Session, path: Path) -> int:
    """Bring ``<data_dir>/search_synonyms.yaml`` (``yanxiu synonyms add`` before 0015) into
    the database, each entry once: an entry already imported (even if removed since) is
    skipped by its hash, so this can run at every start. As when the file was read, a later
    entry's alias wins over an earlier one's (and over the shipped table); an entry whose
    aliases later ones all took is kept as removed (history), as it never applied. An alias
    a site entry in force already has stays with it. Returns how many entries were written."""
    if not path.is_file():
        return 0
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items = list(data.get("synonyms") or [])
    live = set(
        session.scalars(select(SiteSynonymAlias.alias).where(SiteSynonymAlias.removed_at.is_(None)))
    )
    imported = 0
    for item in reversed(items):  # the last entry's aliases first: later entries win
        raw = [str(a) for a in item.get("aliases") or []]
        expansion = normalise_expansion(str(item.get("expansion") or ""))
        aliases = [
            a for a in dict.fromkeys(normalise_alias(a) for a in raw)
            if a and len(a) <= MAX_ALIAS
        ]  # fmt: skip
        key = hashlib.sha256(("\x1f".join(aliases) + "\x1e" + expansion).encode()).hexdigest()
        if session.scalar(select(SiteSynonym.id).where(SiteSynonym.legacy_key == key)):
            live.update(aliases)  # imported before: its aliases stay taken for earlier ones
            continue
        if not aliases or not expansion or len(expansion) > MAX_EXPANSION:
            log.warning("%s: entry %r not imported (no usable alias or expansion)", path, item)
            continue
        free = [a for a in aliases if a not in live]
        now = utcnow()
        gone = None if free else now  # every alias taken by a later entry: never applied
        try:
            with session.begin_nested():
                row = SiteSynonym(expansion=expansion, origin="legacy", legacy_key=key,
                                  added_at=now, removed_at=gone)  # fmt: skip
                session.add(row)
                session.flush()
                for position, alias in enumerate(free or aliases):
                    session.add(SiteSynonymAlias(synonym_id=row.id, alias=alias,
                                                 position=position, removed_at=gone))  # fmt: skip
                session.flush()
        except IntegrityError:  # another process imported it (or took an alias) just now
            continue
        live.update(aliases)
        record_audit(session, actor_id=None, action="synonym.import", entity="search_synonym",
                     entity_id=row.id, detail={"aliases": free or aliases, "expansion": expansion,
                                               "file": str(path), "applied": bool(free)})  # fmt: skip
        imported += 1
    if imported:
        log.info("imported %d synonym entries from %s", imported, path)
    return imported
