"""Precise pushes: ranking by reviewed weaknesses, the bounded rural/weak boost, filters,
all-or-nothing idempotent push creation and the analytics figures (lexical embedder)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import password_hash
from yanxiu.accounts.models import Region, RegionLevel, Role, School, SchoolLocation, User
from yanxiu.accounts.service import create_teacher_profile, create_user
from yanxiu.catalog.service import sync_competencies
from yanxiu.errors import Conflict
from yanxiu.practice.models import (
    Diagnosis,
    DiagnosisReview,
    DiagnosisStatus,
    PracticeRecord,
    RecordKind,
    ReviewDecision,
)
from yanxiu.search.embed import LexicalEmbedder
from yanxiu.studios import push as pushes
from yanxiu.studios import push_analytics, service
from yanxiu.studios.models import CaseKind, CaseResource, Push, PushDelivery, Studio, StudioMember

EMBEDDER = LexicalEmbedder()


class World:
    """A city with two counties, schools of each kind, a host, a studio and a case."""

    def __init__(self, session: Session, content) -> None:  # type: ignore[no-untyped-def]
        self.s = session
        sync_competencies(session, content.competencies)
        self.city = self._region("T01", "测试市", RegionLevel.CITY, None)
        self.county_a = self._region("T0101", "甲区", RegionLevel.COUNTY, self.city.id)
        self.county_b = self._region("T0102", "乙县", RegionLevel.COUNTY, self.city.id)
        self.elsewhere = self._region("T0201", "外市某县", RegionLevel.COUNTY, None)
        self.urban = self._school("U", self.county_a, SchoolLocation.URBAN, weak=False)
        self.town_weak = self._school("TW", self.county_b, SchoolLocation.TOWN, weak=True)
        self.rural = self._school("R", self.county_b, SchoolLocation.RURAL, weak=False)
        self.rural_weak = self._school("RW", self.county_b, SchoolLocation.RURAL, weak=True)
        self.far = self._school("F", self.elsewhere, SchoolLocation.RURAL, weak=True)
        self.host = self.user("host", Role.HOST, self.urban, tier="名师")
        self.studio = Studio(code="ST-T", name="测试初中数学工作室", host_id=self.host.id,
                             stage="初中", subject="数学")  # fmt: skip
        session.add(self.studio)
        session.flush()
        self.case = self.add_case(["PRC-QUES", "PRC-ENGAGE"])
        self._n = 0

    def _region(self, code: str, name: str, level: RegionLevel, parent: int | None) -> Region:
        region = Region(code=code, name=name, level=level, parent_id=parent)
        self.s.add(region)
        self.s.flush()
        return region

    def _school(self, code: str, county: Region, loc: SchoolLocation, *, weak: bool) -> School:
        school = School(code=code, name=f"{county.name}{code}学校", county_id=county.id,
                        stages=["初中"], location=loc, is_weak=weak)  # fmt: skip
        self.s.add(school)
        self.s.flush()
        return school

    def user(self, name: str, role: Role = Role.TEACHER, school: School | None = None, *,
             stage: str = "初中", subject: str = "数学", tier: str = "合格教师") -> User:  # fmt: skip
        school = school or self.urban
        user = create_user(self.s, username=name, display_name=name, role=role,
                           password_hash=password_hash(), region_id=school.county_id,
                           school_id=school.id)  # fmt: skip
        create_teacher_profile(self.s, user=user, stage=stage, subjects=[subject], tier=tier,
                               years_teaching=5, posts=[], cycle_start=datetime(2024, 9, 1).date())  # fmt: skip
        return user

    def add_case(self, competencies: list[str], studio: Studio | None = None) -> CaseResource:
        studio = studio or self.studio
        n = self.s.scalar(select(func.count(CaseResource.id))) or 0
        case = CaseResource(
            code=f"CASE-T{n + 1:03d}", studio_id=studio.id, kind=CaseKind.TRANSCRIPT,
            title="《一元一次方程的应用》课堂实录片段", stage="初中", subject="数学",
            competencies=competencies,
            summary="教师用开放性问题链引导学生分析行程问题，留足候答时间，全班学生参与讨论。",
            body="[00:01:00] 师：你们是怎么想的？\n[00:01:10] 生A：我先画了线段图。",
        )  # fmt: skip
        self.s.add(case)
        self.s.flush()
        return case

    def weakness(self, teacher: User, competency: str, severity: float = 0.8, *,
                 status: DiagnosisStatus = DiagnosisStatus.ACCEPTED) -> Diagnosis:  # fmt: skip
        record = PracticeRecord(teacher_id=teacher.id, kind=RecordKind.TRANSCRIPT, title="我的一节课",
                                text="师：好。", sha256="0" * 64)  # fmt: skip
        self.s.add(record)
        self.s.flush()
        diagnosis = Diagnosis(
            record_id=record.id, model_version="test", status=status,
            report={"weaknesses": [{"competency": competency, "severity": severity,
                                    "dimension": "提问质量" if competency == "PRC-QUES" else competency}]},
        )  # fmt: skip
        self.s.add(diagnosis)
        self.s.flush()
        return diagnosis

    def rank(self, **filters: object) -> pushes.AudiencePreview:
        base = {"stage": "初中", "subject": "数学", "size": 50} | filters
        return pushes.rank_audience(self.s, studio=self.studio, case=self.case, host=self.host,
                                    embedder=EMBEDDER, filters=pushes.AudienceFilters(**base))  # type: ignore[arg-type]  # fmt: skip


@pytest.fixture
def world(session: Session, content) -> World:  # type: ignore[no-untyped-def]
    return World(session, content)


def _ids(preview: pushes.AudiencePreview) -> list[int]:
    return [c.teacher_id for c in preview.candidates]


def test_a_reviewed_weakness_that_the_case_teaches_ranks_first(world: World) -> None:
    matching = world.user("matching")
    other_weakness = world.user("homework")
    no_diagnosis = world.user("plain")
    world.weakness(matching, "PRC-QUES", 0.8)
    world.weakness(other_weakness, "PRC-HOMEWORK", 0.8)
    preview = world.rank()
    order = _ids(preview)
    assert order[0] == matching.id
    by_id = {c.teacher_id: c for c in preview.candidates}
    assert by_id[matching.id].need > 0.5
    assert by_id[matching.id].need > by_id[other_weakness.id].need
    assert by_id[no_diagnosis.id].need == 0.0
    top = by_id[matching.id]
    assert top.matches[0].competency == "PRC-QUES"
    assert any("提问质量" in r for r in top.reasons())
    assert preview.with_weaknesses == 2


def test_only_reviewed_diagnoses_count_and_a_trainer_edit_wins(world: World) -> None:
    pending = world.user("pending")
    world.weakness(pending, "PRC-QUES", 0.9, status=DiagnosisStatus.PENDING_REVIEW)
    edited = world.user("edited")
    diagnosis = world.weakness(edited, "PRC-QUES", 0.9, status=DiagnosisStatus.EDITED)
    world.s.add(DiagnosisReview(diagnosis_id=diagnosis.id, reviewer_id=world.host.id,
                                decision=ReviewDecision.EDIT,
                                report={"weaknesses": [{"competency": "PRC-HOMEWORK", "severity": 0.9}]}))  # fmt: skip
    world.s.flush()
    by_id = {c.teacher_id: c for c in world.rank().candidates}
    assert by_id[pending.id].need == 0.0  # an AI draft nobody reviewed says nothing
    assert all(m.competency != "PRC-QUES" for m in by_id[edited.id].matches)
    weak = pushes.reviewed_weaknesses_bulk(world.s, [edited.id, pending.id])
    assert [w.competency for w in weak[edited.id]] == ["PRC-HOMEWORK"]
    assert pending.id not in weak


def test_rural_and_weak_schools_get_a_visible_bounded_boost(world: World) -> None:
    urban = world.user("urban", school=world.urban)
    rural = world.user("rural", school=world.rural)
    town_weak = world.user("townweak", school=world.town_weak)
    rural_weak = world.user("ruralweak", school=world.rural_weak)
    needy_urban = world.user("needy", school=world.urban)
    world.weakness(needy_urban, "PRC-QUES", 0.5)
    preview = world.rank()
    by_id = {c.teacher_id: c for c in preview.candidates}
    assert by_id[urban.id].boost == 0.0
    assert by_id[rural.id].boost == pytest.approx(pushes.RURAL_BOOST)
    assert by_id[town_weak.id].boost == pytest.approx(pushes.WEAK_BOOST)
    assert by_id[rural_weak.id].boost == pytest.approx(pushes.BOOST_CAP)  # capped, not 0.18
    assert all(c.boost <= pushes.BOOST_CAP for c in preview.candidates)
    # priority reorders teachers of equal need ...
    order = _ids(preview)
    assert order.index(rural_weak.id) < order.index(rural.id) < order.index(urban.id)
    assert order.index(town_weak.id) < order.index(urban.id)
    # ... but never lifts someone without a matching weakness above real need
    assert order[0] == needy_urban.id
    assert any(pushes.PRIORITY_LABEL in r for r in by_id[rural_weak.id].reasons())
    reach = preview.reach
    assert (reach.teachers, reach.rural, reach.weak, reach.priority) == (5, 2, 2, 3)
    assert reach.schools == 4 and reach.counties == 2


def test_filters_scope_and_earlier_recipients(world: World) -> None:
    urban = world.user("urban", school=world.urban)
    rural = world.user("rural", school=world.rural)
    rural_weak = world.user("ruralweak", school=world.rural_weak)
    town_weak = world.user("townweak", school=world.town_weak)
    world.user("far", school=world.far)  # another city: out of the host's reach
    world.user("chinese", school=world.urban, subject="语文")
    world.user("primary", school=world.urban, stage="小学")
    assert set(_ids(world.rank())) == {urban.id, rural.id, rural_weak.id, town_weak.id}
    assert set(_ids(world.rank(locations=("rural",)))) == {rural.id, rural_weak.id}
    assert set(_ids(world.rank(weak_only=True))) == {rural_weak.id, town_weak.id}
    assert set(_ids(world.rank(county_id=world.county_a.id))) == {urban.id}
    assert len(_ids(world.rank(subject=""))) == 5  # any subject: the 语文 teacher too
    assert len(world.rank(size=2).candidates) == 2
    assert world.rank(scope="members").candidates == []
    world.s.add(StudioMember(studio_id=world.studio.id, teacher_id=rural.id))
    world.s.flush()
    members = world.rank(scope="members")
    assert _ids(members) == [rural.id] and members.candidates[0].is_member
    pushes.create_push(world.s, studio=world.studio, case=world.case, host=world.host,
                       teacher_ids=[urban.id])  # fmt: skip
    again = world.rank()
    assert urban.id not in _ids(again) and again.already_received == 1


def test_push_is_all_or_nothing_and_never_delivers_twice(world: World) -> None:
    a, b, c = (world.user(n) for n in ("a", "b", "c"))
    far = world.user("far", school=world.far)

    def deliveries() -> int:
        return world.s.scalar(select(func.count(PushDelivery.id))) or 0

    with pytest.raises(pushes.PushError, match="推送范围"):
        pushes.create_push(world.s, studio=world.studio, case=world.case, host=world.host,
                           teacher_ids=[a.id, far.id])  # fmt: skip
    with pytest.raises(pushes.PushError):
        pushes.create_push(
            world.s, studio=world.studio, case=world.case, host=world.host, teacher_ids=[]
        )
    assert deliveries() == 0 and world.s.scalar(select(func.count(Push.id))) == 0

    first = pushes.create_push(world.s, studio=world.studio, case=world.case, host=world.host,
                               teacher_ids=[a.id, b.id, b.id], note="请阅读")  # fmt: skip
    assert first.created and first.delivered == 2 and deliveries() == 2
    repeat = pushes.create_push(world.s, studio=world.studio, case=world.case, host=world.host,
                                teacher_ids=[a.id, b.id])  # fmt: skip
    assert not repeat.created and repeat.push.id == first.push.id and deliveries() == 2
    more = pushes.create_push(world.s, studio=world.studio, case=world.case, host=world.host,
                              teacher_ids=[a.id, c.id])  # fmt: skip
    assert more.created and (more.delivered, more.skipped) == (1, 1) and deliveries() == 3

    other_host = world.user("otherhost", Role.HOST)
    with pytest.raises(pushes.PushError, match="自己主持"):
        pushes.create_push(world.s, studio=world.studio, case=world.case, host=other_host,
                           teacher_ids=[c.id])  # fmt: skip
    foreign = Studio(
        code="ST-O", name="别人的工作室", host_id=other_host.id, stage="初中", subject="数学"
    )
    world.s.add(foreign)
    world.s.flush()
    foreign_case = world.add_case(["PRC-QUES"], studio=foreign)
    with pytest.raises(pushes.PushError, match="本工作室"):
        pushes.create_push(world.s, studio=world.studio, case=foreign_case, host=world.host,
                           teacher_ids=[c.id])  # fmt: skip


def test_open_complete_and_analytics_match_the_database(world: World) -> None:
    teachers = [
        world.user("u1", school=world.urban), world.user("u2", school=world.urban),
        world.user("r1", school=world.rural), world.user("rw1", school=world.rural_weak),
        world.user("tw1", school=world.town_weak),
    ]  # fmt: skip
    result = pushes.create_push(world.s, studio=world.studio, case=world.case, host=world.host,
                                teacher_ids=[t.id for t in teachers])  # fmt: skip
    u1, u2, r1, rw1, tw1 = teachers
    t0 = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
    assert service.mark_opened(world.s, teacher_id=r1.id, case_id=world.case.id, when=t0)
    assert not service.mark_opened(world.s, teacher_id=r1.id, case_id=world.case.id,
                                   when=t0 + timedelta(hours=5))  # fmt: skip
    (delivery,) = service.my_deliveries(world.s, r1.id, world.case.id)
    assert delivery.opened_at is not None and delivery.opened_at.replace(tzinfo=UTC) == t0
    service.mark_opened(world.s, teacher_id=u1.id, case_id=world.case.id)
    assert service.mark_completed(world.s, teacher_id=rw1.id, case_id=world.case.id)  # opens too
    assert not service.mark_completed(world.s, teacher_id=rw1.id, case_id=world.case.id)
    outsider = world.user("outsider")
    with pytest.raises(Conflict, match="不是推送给您的"):
        service.mark_completed(world.s, teacher_id=outsider.id, case_id=world.case.id)

    stats = push_analytics.push_stats(world.s, result.push.id)
    rows = world.s.scalars(select(PushDelivery).where(PushDelivery.push_id == result.push.id)).all()
    assert stats.delivered == len(rows) == 5
    assert stats.opened == sum(r.opened_at is not None for r in rows) == 3
    assert stats.completed == sum(r.completed_at is not None for r in rows) == 1
    assert stats.open_rate == pytest.approx(3 / 5) and stats.completion_rate == pytest.approx(1 / 5)
    assert (stats.rural_recipients, stats.weak_recipients, stats.priority_recipients) == (2, 2, 3)
    assert (stats.rural_openers, stats.weak_openers) == (2, 1)  # r1, rw1 rural; rw1 weak
    assert stats.rural_share_of_openers == pytest.approx(2 / 3)
    assert stats.by_location["rural"] == (2, 2, 1)
    assert stats.by_location["urban"] == (2, 1, 0)
    assert stats.by_location["town"] == (1, 0, 0)
    assert sum(s.delivered for s in stats.schools) == 5
    assert {s.school: (s.delivered, s.opened) for s in stats.schools}[world.urban.name] == (2, 1)
    (summary,) = push_analytics.recent_pushes(world.s, [world.studio.id])
    assert (summary.delivered, summary.opened, summary.completed) == (5, 3, 1)
    assert [r.teacher_id for r in push_analytics.push_recipients(world.s, result.push.id)][:3] == sorted(
        [r1.id, rw1.id, tw1.id], key=lambda i: {r1.id: world.rural.name, rw1.id: world.rural_weak.name,
                                                 tw1.id: world.town_weak.name}[i])  # fmt: skip
    assert u2.id in {r.teacher_id for r in push_analytics.push_recipients(world.s, result.push.id)}


def test_relevance_is_rescaled_per_case(world: World) -> None:
    comps = {"PRC-QUES": ("课堂提问设计", "设计开放性、层次化的问题链，给足候答时间"),
             "PRC-HOMEWORK": ("作业设计", "设计分层、弹性、个性化作业，控制总量，提高质量"),
             "ETH-LAW": ("依法执教", "掌握教师法、未成年人保护法等法规")}  # fmt: skip
    world.case.competencies = ["PRC-QUES"]
    rel = pushes.competency_relevance(EMBEDDER, world.case, comps)
    assert rel["PRC-QUES"] == pytest.approx(1.0)
    assert all(0.0 <= v <= 1.0 for v in rel.values())
    assert rel["ETH-LAW"] < 0.5


def test_any_subject_keeps_teachers_of_other_subjects_below_the_cases_own(world: World) -> None:
    """Issue 21: widening 学科 to 不限 for a maths case must not offer physics and PE teachers
    first, nor give them the reason 按学段学科与教师画像匹配."""
    physics = world.user("physics", school=world.rural_weak, subject="物理")
    pe = world.user("pe", school=world.rural, subject="体育与健康")
    maths = world.user("maths", school=world.urban)
    ranked = world.rank(subject="")
    ids = _ids(ranked)
    assert ids.index(maths.id) < ids.index(physics.id) and ids.index(maths.id) < ids.index(pe.id)
    other = next(c for c in ranked.candidates if c.teacher_id == physics.id)
    reasons = other.reasons()
    assert not any("按学段学科与教师画像匹配" in r for r in reasons)
    assert any("与案例学科（数学）不同" in r for r in reasons)
    # a reviewed weakness the case teaches still counts for a teacher of another subject
    world.weakness(pe, "PRC-QUES", severity=1.0)
    assert _ids(world.rank(subject=""))[0] in {pe.id, maths.id}


def test_warm_up_embeds_the_wizard_texts_once(world: World) -> None:
    world.user("maths2", school=world.urban)
    held = pushes.warm_up(world.s, EMBEDDER)
    assert held >= 3  # competencies, the case and the teacher profiles
    calls = []
    original = EMBEDDER.embed_queries
    EMBEDDER.embed_queries = lambda texts: calls.append(texts) or original(texts)  # type: ignore[method-assign]
    try:
        world.rank()
    finally:
        EMBEDDER.embed_queries = original  # type: ignore[method-assign]
    assert calls == []  # nothing left to embed when the wizard opens
