"""No page teacher A can reach shows teacher B's data.

A and B teach at the same school and receive pushes from the same studio, so school- and
studio-level pages are where a leak would show. B gets rich data first: practice records with
a reviewed (edited) diagnosis, ledger entries, pushed cases. Then a crawler logged in as A
follows every same-site link (href, hx-get) from A's pages, plus A's JSON API, and asks for B's
records directly (403). No response may contain B's name, username, record titles or the
trainer's comments on B's diagnosis.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import copy_sqlite
from tests.web.conftest import Site, site_settings
from tests.web.helpers import form_token
from yanxiu.accounts.models import Role, User
from yanxiu.config import PROJECT_ROOT
from yanxiu.credits.models import CreditRecord
from yanxiu.practice.models import RecordKind
from yanxiu.practice.service import submit_record
from yanxiu.studios.models import PushDelivery

MAX_PAGES = 400
MAX_VARIANTS_PER_PATH = 6  # e.g. catalog pages ?page=2…: a few are enough
SKIP_PREFIXES = ("/static/", "/logout", "/login", "/api/docs", "/redoc", "/docs/")
B_RECORD_TITLES = ("保密标记：乙老师《分数的意义》课堂实录", "保密标记：乙老师《认识时间》教学设计")
B_REVIEW_SUMMARY = "保密评语：该教师追问层次清晰，建议继续保持（仅本人可见）"
B_REVIEW_COMMENT = "保密审核意见：第二段的候答时间可以再延长"


def _case_body(case_id: str) -> bytes:
    for path in sorted((PROJECT_ROOT / "content" / "cases").glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
            if case["id"] == case_id:
                return str(case["body"]).encode()
    raise LookupError(case_id)


@dataclass
class Pair:
    site: Site
    a: User
    b: User
    b_records: list[int]
    a_records: list[int]

    def markers(self) -> list[str]:
        return [self.b.display_name, self.b.username, *B_RECORD_TITLES, B_REVIEW_SUMMARY,
                B_REVIEW_COMMENT]  # fmt: skip


@pytest.fixture(scope="module")
def pair(demo_db_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    folder = tmp_path_factory.mktemp("no-leak")
    copy_sqlite(demo_db_file, folder / "yanxiu.db")
    site = Site(site_settings(folder / "yanxiu.db", folder / "var"))
    with site.factory() as s:
        # the school whose teachers received the most pushes; B: its teacher with the most
        # ledger entries (3-character name, so it can't match ordinary text by accident)
        school_id = s.execute(
            select(User.school_id, func.count(PushDelivery.id).label("n"))
            .join(PushDelivery, PushDelivery.teacher_id == User.id)
            .where(User.role == Role.TEACHER)
            .group_by(User.school_id)
            .order_by(func.count(PushDelivery.id).desc())
        ).first()[0]
        teachers = list(
            s.scalars(select(User).where(User.school_id == school_id, User.role == Role.TEACHER))
        )
        ledger = dict(
            s.execute(
                select(CreditRecord.teacher_id, func.count(CreditRecord.id))
                .where(CreditRecord.teacher_id.in_([t.id for t in teachers]))
                .group_by(CreditRecord.teacher_id)
            ).all()
        )
        pushed = set(s.scalars(select(PushDelivery.teacher_id)))
        rich = sorted(
            (t for t in teachers if len(t.display_name) == 3 and t.id in pushed),
            key=lambda t: -ledger.get(t.id, 0),
        )
        b = rich[0]
        a = next(t for t in teachers if t.id != b.id and t.id in pushed)
        b_records, b_diagnoses = [], []
        for title, kind, case in (
            (B_RECORD_TITLES[0], RecordKind.TRANSCRIPT, "CASE-001"),
            (B_RECORD_TITLES[1], RecordKind.TRANSCRIPT, "CASE-002"),
        ):
            record, diagnosis = submit_record(s, teacher_id=b.id, kind=kind, data=_case_body(case),
                                      filename="b.txt", title=title, stage="初中", subject="数学")  # fmt: skip
            b_records.append(record.id)
            b_diagnoses.append(diagnosis.id)
        a_record, a_diagnosis = submit_record(s, teacher_id=a.id, kind=RecordKind.TRANSCRIPT,
                                    data=_case_body("CASE-002"), filename="a.txt",
                                    title="甲老师的课堂实录", stage="初中", subject="数学")  # fmt: skip
        s.commit()
        a_id, b_id, a_rec, a_diag = a.id, b.id, a_record.id, a_diagnosis.id
        trainer = s.scalars(
            select(User).where(User.role == Role.TRAINER, User.region_id == b.region_id)
        ).first()
        assert trainer is not None
        trainer_name = trainer.username
    # the trainer edits B's first diagnosis through the web (summary, comment), accepts the rest
    reviewer = site.client(trainer_name)
    for diagnosis_id in (*b_diagnoses, a_diag):
        page = reviewer.get(f"/review/{diagnosis_id}").text
        data = {"csrf_token": form_token(page), "action": "accept"}
        if diagnosis_id == b_diagnoses[0]:
            data |= {"action": "edit", "summary": B_REVIEW_SUMMARY, "comment": B_REVIEW_COMMENT}
        answer = reviewer.post(f"/review/{diagnosis_id}", data=data, follow_redirects=False)
        assert answer.status_code in (200, 303), answer.text[-600:]
    with site.factory() as s:
        a_user, b_user = s.get(User, a_id), s.get(User, b_id)
        assert a_user and b_user
        s.expunge_all()
    yield Pair(site, a_user, b_user, b_records, [a_rec])
    site.close()


def links(html: str, base: str) -> set[str]:
    found = set()
    for attr in ("href", "hx-get"):
        for raw in re.findall(rf'{attr}="([^"#]+)', html):
            url = urljoin(base, raw.replace("&amp;", "&"))
            parts = urlsplit(url)
            if parts.netloc not in ("", "testserver") or not parts.path.startswith("/"):
                continue
            found.add(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def crawl(client: TestClient, starts: list[str]) -> dict[str, str]:
    """Every same-site page reachable from ``starts``: {url: body}."""
    seen: dict[str, str] = {}
    variants: dict[str, int] = {}
    todo = deque(starts)
    while todo and len(seen) < MAX_PAGES:
        url = todo.popleft()
        path = urlsplit(url).path
        if url in seen or path.startswith(SKIP_PREFIXES):
            continue
        if "?" in url:
            variants[path] = variants.get(path, 0) + 1
            if variants[path] > MAX_VARIANTS_PER_PATH:
                continue
        response = client.get(url, headers={"HX-Request": "true"} if "search" in path else {})
        seen[url] = response.text
        if "html" in response.headers.get("content-type", ""):
            todo.extend(sorted(links(response.text, url) - set(seen)))
    return seen


def test_teacher_a_sees_nothing_of_teacher_b(pair: Pair) -> None:
    client = pair.site.client(pair.a.username)
    starts = ["/teacher", "/teacher/path", "/teacher/export", "/courses", "/checkin",
              "/practice", "/studios", "/studios/inbox", *(f"/practice/{r}" for r in pair.a_records),
              "/api/v1/me/compliance", "/api/v1/practice", "/api/v1/studios",
              "/api/v1/studios/inbox", "/api/v1/courses", f"/api/v1/teachers/{pair.a.username}/path",
              *(f"/api/v1/practice/{r}" for r in pair.a_records)]  # fmt: skip
    pages = crawl(client, starts)
    assert len(pages) > 30, f"the crawl reached only {len(pages)} pages"
    assert any(pair.a.display_name in body for body in pages.values()), "A's own pages render"
    leaks = [
        f"{url} shows {marker!r}"
        for url, body in pages.items()
        for marker in pair.markers()
        if marker in body
    ]
    assert not leaks, "teacher B's data leaked to teacher A: " + "; ".join(leaks[:20])


def test_teacher_a_cannot_open_bs_records(pair: Pair) -> None:
    client = pair.site.client(pair.a.username)
    for record_id in pair.b_records:
        for url in (f"/practice/{record_id}", f"/api/v1/practice/{record_id}"):
            response = client.get(url)
            assert response.status_code == 403, url
            assert not any(m in response.text for m in pair.markers()), url
    for url in (
        f"/api/v1/teachers/{pair.b.username}/path",
        f"/api/v1/practice?teacher={pair.b.username}",
    ):
        response = client.get(url)
        assert not any(m in response.text for m in pair.markers()), url


def test_b_data_is_really_there(pair: Pair) -> None:
    """The markers are real: B (and B's trainer) do see them, so their absence above counts."""
    client = pair.site.client(pair.b.username)
    listing = client.get("/practice").text
    assert B_RECORD_TITLES[0] in listing
    detail = client.get(f"/practice/{pair.b_records[0]}").text
    assert B_REVIEW_SUMMARY in detail
