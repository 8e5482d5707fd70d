"""The teacher dashboard's data: one-query ledger, figures, chart, fingerprint, caches."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import TODAY
from tests.factories import make_teacher, password_hash
from tests.test_ledger import make_course
from yanxiu.accounts.models import Role
from yanxiu.accounts.service import create_user
from yanxiu.catalog.models import CourseStatus
from yanxiu.credits.compliance import compute_compliance
from yanxiu.credits.ledger import credit_hours, ledger_entries, review_record, void_record
from yanxiu.credits.models import CreditSource, ReviewState
from yanxiu.credits.rules import CreditRefused
from yanxiu.learning.browse import CatalogSnapshot, browse
from yanxiu.learning.completion import complete_teacher_course
from yanxiu.learning.course import (
    CourseNotFound,
    course_view,
    enrol_teacher,
    rate_teacher_course,
)
from yanxiu.learning.enrolments import (
    EnrolmentError,
    complete_course,
    get_enrolment,
    update_progress,
)
from yanxiu.recommend.service import TrainingPath
from yanxiu.reports.dashboard import (
    COLD_START_NOTES,
    NoTeacherProfile,
    PathCache,
    activity_fingerprint,
    build_dashboard,
    cached_dashboard,
    compliance_document,
    compliance_summary,
    path_fingerprint,
    teacher_ledger,
    training_path_section,
)


def _credit(session, policy, teacher_id, key, hours, category="学科教学", source=CreditSource.OFFLINE,
            day=date(2025, 3, 1)):  # fmt: skip
    record, _ = credit_hours(
        session, policy=policy, teacher_id=teacher_id, source=source, category=category,
        hours=hours, earned_on=day, title=f"记录 {key}", idempotency_key=key,
    )  # fmt: skip
    return record


def test_teacher_ledger_is_ledger_entries_for_one_teacher(session, policy):
    t, other = make_teacher(session), make_teacher(session)
    a = _credit(session, policy, t.id, "k1", 6)
    b = _credit(session, policy, t.id, "k2", 3, source=CreditSource.SCHOOL_BASED)  # pending
    _credit(session, policy, t.id, "k3", 4, category="师德师风")
    _credit(session, policy, other.id, "k4", 8)
    void_record(session, record_id=a.id, reason="重复登记", actor_id=None)
    review_record(session, record_id=b.id, state=ReviewState.REJECTED, reviewer_id=None)
    review_record(session, record_id=b.id, state=ReviewState.APPROVED, reviewer_id=None)
    session.commit()
    session.expire_all()  # read back what the database holds (SQLite drops the time zone)
    mine = teacher_ledger(session, t.id)
    assert mine == ledger_entries(session, [t.id])
    assert [e.voided for e in mine] == [True, False, False]
    assert mine[1].review_state == ReviewState.APPROVED  # the latest review wins


def test_dashboard_figures_are_the_compliance_figures(session, policy):
    t = make_teacher(session, cycle_start=date(2024, 9, 1))
    _credit(session, policy, t.id, "a", 20, category="师德师风", day=date(2025, 10, 1))
    _credit(session, policy, t.id, "b", 30, day=date(2026, 10, 1))
    _credit(session, policy, t.id, "c", 12, source=CreditSource.SCHOOL_BASED, day=date(2026, 10, 2))
    course = make_course(session, "SD-910", hours=8)
    enrol_teacher(session, teacher_id=t.id, code=course.code)
    update_progress(session, enrolment=get_enrolment(session, t.id, course.id), progress=0.4)
    session.commit()
    session.expire_all()
    d = build_dashboard(session, teacher_id=t.id, policy=policy, today=TODAY)
    expected = compute_compliance(ledger_entries(session, [t.id]), policy=policy, teacher_id=t.id,
                                  cycle_start=date(2024, 9, 1), today=TODAY, tier="合格教师")  # fmt: skip
    assert d.report == expected
    assert d.report.counted_total == 50 and d.report.pending_hours == 12
    rows = {r.category: r for r in d.categories}
    assert rows["师德师风"].hours == 20 and rows["师德师风"].gap == 10  # GX: 30 required
    assert rows["信息技术应用能力"].hours == 0 and rows["信息技术应用能力"].minimum == 50
    spec = d.chart
    assert spec["type"] == "bar" and spec["data"]["labels"] == [r.category for r in d.categories]
    assert spec["data"]["datasets"][0]["data"] == [r.hours for r in d.categories]
    assert [c.code for c in d.in_progress] == ["SD-910"] and d.in_progress[0].progress == 0.4
    assert [e.idempotency_key for e in d.recent] == ["c", "b", "a"]  # newest first
    summary = compliance_summary(d.report, policy)
    assert summary["ethics"] == {"hours": 20, "required": 30, "ok": False}
    assert summary["current_year"]["hours"] == 30 and summary["current_year"]["minimum"] == 72


def test_fingerprint_changes_with_everything_the_page_shows(session, policy):
    t, other = make_teacher(session), make_teacher(session)
    course = make_course(session, "SD-920")
    session.commit()
    seen = [activity_fingerprint(session, t.id)]

    def changed() -> bool:
        session.commit()
        now = activity_fingerprint(session, t.id)
        fresh = now not in seen
        seen.append(now)
        return fresh

    _credit(session, policy, other.id, "other", 5)
    assert not changed()  # someone else's ledger is not this teacher's business
    enrol_teacher(session, teacher_id=t.id, code=course.code)
    assert changed()
    before = path_fingerprint(seen[-1])
    update_progress(session, enrolment=get_enrolment(session, t.id, course.id), progress=0.5)
    assert changed()
    assert path_fingerprint(seen[-1]) == before  # progress alone does not re-plan the path
    complete_course(session, policy=policy, teacher_id=t.id, course=course, decision=None)
    assert changed()
    record = teacher_ledger(session, t.id)[0]
    void_record(session, record_id=record.id, reason="测试作废", actor_id=None)
    assert changed()


def test_path_cache_recomputes_only_when_the_fingerprint_changes():
    cache: PathCache[str] = PathCache(max_entries=2)
    calls: list[str] = []

    def compute(v: str):  # type: ignore[no-untyped-def]
        return lambda: calls.append(v) or v

    assert cache.get(1, "fp1", compute("a")) == "a"
    assert cache.get(1, "fp1", compute("b")) == "a"
    assert cache.get(1, "fp2", compute("c")) == "c"
    assert calls == ["a", "c"] and cache.hits == 1 and cache.misses == 2
    cache.get(2, "x", compute("d"))
    cache.get(3, "x", compute("e"))
    assert len(cache) == 2  # teacher 1 was least recently used and is forgotten
    cache.get(1, "fp2", compute("f"))
    assert calls[-1] == "f"


def test_course_actions_check_enrolment_and_write_nothing_when_refused(session, policy):
    t = make_teacher(session)
    pre = make_course(session, "SD-930")
    course = make_course(session, "SD-931")
    course.prerequisites.append(pre)
    retired = make_course(session, "SD-932", status=CourseStatus.RETIRED)
    draft = make_course(session, "SD-933", status=CourseStatus.DRAFT)
    session.commit()
    with pytest.raises(EnrolmentError, match="请先报名"):
        complete_teacher_course(session, policy=policy, teacher_id=t.id, code=course.code)
    assert teacher_ledger(session, t.id) == []
    with pytest.raises(EnrolmentError, match="下架"):
        enrol_teacher(session, teacher_id=t.id, code=retired.code)
    with pytest.raises(CourseNotFound):
        enrol_teacher(session, teacher_id=t.id, code=draft.code)
    result = enrol_teacher(session, teacher_id=t.id, code=course.code)
    assert result.outcome == "enrolled"
    assert [p.code for p in result.missing_prerequisites] == ["SD-930"]
    assert enrol_teacher(session, teacher_id=t.id, code=course.code).outcome == "already"
    with pytest.raises(EnrolmentError, match="完成课程后"):
        rate_teacher_course(session, teacher_id=t.id, code=course.code, rating=5)
    with pytest.raises(CreditRefused, match="尚无在线学习单元"):  # no study: no credit
        complete_teacher_course(session, policy=policy, teacher_id=t.id, code=course.code)
    assert teacher_ledger(session, t.id) == []
    # history "migrated" from before recorded study (decision=None) is credited once
    _, record, created = complete_course(
        session, policy=policy, teacher_id=t.id, course=course, decision=None
    )
    _, again, created_again = complete_course(
        session, policy=policy, teacher_id=t.id, course=course, decision=None
    )
    assert (created, created_again) == (True, False) and record.id == again.id
    assert rate_teacher_course(session, teacher_id=t.id, code=course.code, rating=4).rating == 4
    view = course_view(session, pre, teacher_id=t.id)
    assert view.unlocks == [("SD-931", course.title)] and view.status == "none"
    done = course_view(session, course, teacher_id=t.id)
    assert done.status == "completed" and done.credited_hours == 6
    assert done.prerequisites[0].status == "not_started"


def test_browse_pages_and_filters_the_published_catalog(session):
    for i in range(25):
        make_course(session, f"SD-{940 + i}")
    make_course(session, "SD-999", status=CourseStatus.DRAFT)
    session.commit()
    snapshot = CatalogSnapshot()
    first = browse(session, page=1, per_page=10, snapshot=snapshot)
    assert first.total == 25 and first.pages == 3 and not first.has_prev and first.has_next
    assert [c.code for c in first.items][:2] == ["SD-940", "SD-941"]
    last = browse(session, page=9, per_page=10, snapshot=snapshot)  # past the end: last page
    assert last.page == 3 and len(last.items) == 5
    assert browse(session, filters={"stage": "小学"}, snapshot=snapshot).total == 0
    assert (
        browse(session, filters={"stage": "初中", "format": "online"}, snapshot=snapshot).total
        == 25
    )
    make_course(session, "SD-998")
    session.commit()
    assert browse(session, snapshot=snapshot).total == 26  # the snapshot notices new courses


def test_cached_dashboard_is_presented_once_per_change_of_what_it_shows(session, policy):
    t = make_teacher(session)
    course = make_course(session, "SD-950")
    session.commit()
    cache: PathCache[str] = PathCache()
    presented: list[object] = []

    def view(name: str = "教师") -> str:
        def present(data):
            presented.append(data)
            return f"{name}:{len(presented)}"

        return cached_dashboard(session, cache=cache, teacher_id=t.id, display_name=name,
                                policy=policy, today=TODAY, present=present)  # fmt: skip

    first = view()
    assert view() == first and len(presented) == 1  # nothing changed: presented once
    enrol_teacher(session, teacher_id=t.id, code=course.code)
    session.commit()
    assert view() != first and len(presented) == 2
    assert view("新名字") == "新名字:3"  # the name shown is part of what is cached
    assert [d.in_progress[0].code for d in presented[1:]] == ["SD-950", "SD-950"]


def test_an_account_without_a_teacher_profile_has_nothing_to_count(session, policy):
    staff = create_user(session, username="no-profile", display_name="未建档", role=Role.TEACHER,
                        password_hash=password_hash())  # fmt: skip
    session.commit()
    shown = cached_dashboard(session, cache=PathCache(), teacher_id=staff.id, display_name="x",
                             policy=policy, today=TODAY, present=lambda data: data)  # fmt: skip
    assert shown is None
    with pytest.raises(NoTeacherProfile, match="尚未建立教师档案"):
        compliance_document(session, teacher_id=staff.id, policy=policy, today=TODAY)


def test_compliance_document_adds_the_category_rows(session, policy):
    t = make_teacher(session)
    _credit(session, policy, t.id, "e", 12, category="师德师风")
    session.commit()
    doc = compliance_document(session, teacher_id=t.id, policy=policy, today=TODAY)
    ethics = next(r for r in doc["categories"] if r["category"] == "师德师风")
    assert ethics == {"category": "师德师风", "hours": 12, "minimum": 30, "gap": 18}
    assert doc["by_category"] == {"师德师风": 12}


class _Planner:
    """A stand-in recommender: counts its plans; ``refuse`` plays a teacher without a profile."""

    def __init__(self, cold_start: str = "", refuse: bool = False) -> None:
        self.calls, self.cold_start, self.refuse = 0, cold_start, refuse

    def recommend(self, session, *, teacher_id, policy, today):
        self.calls += 1
        if self.refuse:
            raise ValueError(f"user {teacher_id} has no teacher profile")
        return TrainingPath(teacher_id, today, [], [], 0.0, {}, self.cold_start, "test")


def test_training_path_section_plans_once_and_says_why_there_is_none(session, policy):
    t = make_teacher(session)
    session.commit()

    def section(planner, cache):
        return training_path_section(session, planner=planner, unavailable="", teacher_id=t.id,
                                     cache=cache, policy=policy, today=TODAY)  # fmt: skip

    down = section(None, PathCache())
    assert down.path is None and down.unavailable == "推荐服务尚未就绪"
    planner, cache = _Planner("induction"), PathCache()
    first, again = section(planner, cache), section(planner, cache)
    assert first.path is again.path and planner.calls == 1  # planned once, then reused
    assert first.cold_note == COLD_START_NOTES["induction"] and first.unavailable == ""
    refused = section(_Planner(refuse=True), PathCache())
    assert refused.path is None and "no teacher profile" in refused.unavailable
