"""The deterministic demo: regions, schools, staff, studios, cases, ~300 teachers with
training histories, hybrid programs with attendance, studio pushes.

Everything flows through the same services the product uses (crediting, attendance,
enrolment), so the demo's ledger obeys the same rules. Seeding runs once per database: a
second run finds the marker in ``app_meta`` and changes nothing, so it never overwrites what
users did in the meantime.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session
from tqdm import tqdm

from yanxiu.accounts.models import Region, RegionLevel, Role, School, SchoolLocation, User
from yanxiu.accounts.security import hash_password
from yanxiu.accounts.service import create_teacher_profile, create_user
from yanxiu.catalog.models import Course, CourseStatus, CourseUnit, Enrolment, UnitKind
from yanxiu.content import Content
from yanxiu.credits.ledger import credit_hours, replace_record, review_record
from yanxiu.credits.models import CreditSource, ReviewState
from yanxiu.credits.policy import CreditPolicy
from yanxiu.db.meta import get_meta, set_meta
from yanxiu.learning.enrolments import (
    complete_course,
    drop_course,
    enrol,
    rate_course,
    update_progress,
)
from yanxiu.learning.study import active_units, open_unit, reach_end, report_position
from yanxiu.programs.clock import store_wall, stored_wall
from yanxiu.programs.models import (
    AttendanceStatus,
    OfflineSession,
    Program,
    program_modules,
    program_participants,
)
from yanxiu.programs.service import record_attendance
from yanxiu.seed.names import GIVEN_FEMALE, GIVEN_MALE, SURNAMES
from yanxiu.seed.practice_demo import seed_practice_demo
from yanxiu.studios.models import CaseResource, Push, PushDelivery, Studio, StudioMember
from yanxiu.studios.service import sync_cases

DEMO_MARKER = "demo_seeded"
# Online courses with a video unit some demo teachers are midway through (see _seed_video_study)
VIDEO_STUDY_COURSES = ("ZY-001", "SD-005", "RZ-011")

SUBJECT_WEIGHTS = {
    "幼儿园": {"通用": 1},
    "小学": {"语文": 30, "数学": 28, "英语": 12, "科学": 8, "道德与法治": 6, "音乐": 4, "美术": 4,
             "体育与健康": 5, "信息科技": 3},
    "初中": {"语文": 18, "数学": 18, "英语": 16, "物理": 8, "化学": 6, "生物": 6, "历史": 6,
             "地理": 5, "道德与法治": 6, "体育与健康": 5, "信息科技": 3, "音乐": 2, "美术": 2},
    "高中": {"语文": 16, "数学": 16, "英语": 16, "物理": 10, "化学": 9, "生物": 8, "历史": 7,
             "地理": 6, "思想政治": 7, "体育与健康": 3, "信息科技": 2},
}  # fmt: skip
TIER_WEIGHTS = (
    ("新任教师", 9),
    ("合格教师", 55),
    ("骨干教师", 22),
    ("学科带头人", 10),
    ("名师", 4),
)
YEARS_BY_TIER = {
    "新任教师": (0, 1),
    "合格教师": (2, 20),
    "骨干教师": (8, 25),
    "学科带头人": (12, 30),
    "名师": (18, 33),
}
SCHOOL_SIZE = {SchoolLocation.URBAN: 13, SchoolLocation.TOWN: 9, SchoolLocation.RURAL: 6}
# How fast a teacher trains relative to the required pace, and how common each habit is.
PACE_PROFILES = (
    ("ahead", 1.25, 25),
    ("steady", 1.0, 40),
    ("behind", 0.6, 25),
    ("stalled", 0.25, 10),
)


@dataclass
class DemoSummary:
    regions: int = 0
    schools: int = 0
    staff: int = 0
    teachers: int = 0
    studios: int = 0
    cases: int = 0
    enrolments: int = 0
    credits: int = 0
    programs: int = 0
    attendance: int = 0
    pushes: int = 0
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # role, username, who


def roster_hash(roster: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(roster, ensure_ascii=False, sort_keys=True, default=str).encode()
    ).hexdigest()


def featured_logins(content_dir: Path) -> list[str]:
    """The usernames the roster names to print (``demo_logins`` in content/demo/roster.yaml)."""
    path = content_dir / "demo" / "roster.yaml"
    roster = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    names = (roster or {}).get("demo_logins") or []
    return [str(n) for n in names]


def demo_logins(session: Session, featured: list[str] | None = None) -> list[tuple[str, str, str]]:
    """One account per role to show on start-up: the roster's featured logins when given (they
    complete each other's loops), else the first account of each role."""
    out = []
    chosen = {
        u.role: u for u in session.scalars(select(User).where(User.username.in_(featured or [])))
    }
    for role in (Role.ADMIN, Role.TRAINER, Role.HOST, Role.TEACHER):
        user = chosen.get(role) or session.scalar(
            select(User).where(User.role == role).order_by(User.id)
        )
        if user is not None:
            where = user.school.name if user.school else (user.region.name if user.region else "")
            out.append((role.value, user.username, f"{user.display_name}（{where}）"))
    return out


def _weighted(rng: random.Random, weights: dict[str, int] | Iterable[tuple[str, int]]) -> str:
    items = list(weights.items()) if isinstance(weights, dict) else list(weights)
    return rng.choices([k for k, _ in items], weights=[w for _, w in items])[0]


def _at(day: date, hour: int = 20) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=UTC)


def seed_demo(
    session: Session, content: Content, *, password: str, progress: bool = True
) -> DemoSummary | None:
    """Seed the demo once. Returns None when this database was already seeded."""
    if get_meta(session, DEMO_MARKER):
        return None
    roster = content.roster
    rng = random.Random(int(roster["seed"]))
    today: date = roster["demo_today"]
    policy = content.policies[roster["policy"]]
    summary = DemoSummary()

    # --- regions and schools
    province = Region(
        code=roster["province"]["code"],
        name=roster["province"]["name"],
        level=RegionLevel.PROVINCE,
        policy_code=policy.code,
    )
    session.add(province)
    session.flush()
    city = Region(
        code=roster["city"]["code"],
        name=roster["city"]["name"],
        level=RegionLevel.CITY,
        parent_id=province.id,
    )
    session.add(city)
    session.flush()
    regions = {province.code: province, city.code: city}
    for c in roster["counties"]:
        county = Region(code=c["code"], name=c["name"], level=RegionLevel.COUNTY, parent_id=city.id)
        session.add(county)
        regions[c["code"]] = county
    session.flush()
    schools: dict[str, School] = {}
    for s in roster["schools"]:
        school = School(
            code=s["code"], name=s["name"], county_id=regions[s["county"]].id, stages=s["stages"],
            location=SchoolLocation(s["location"]), is_weak=bool(s.get("weak", False)),
        )  # fmt: skip
        session.add(school)
        schools[s["code"]] = school
    session.flush()
    summary.regions, summary.schools = len(regions), len(schools)

    # One argon2 hash shared by all demo accounts (same password): hashing 300 times would
    # add ~20 s to `make run` for no security gain on demo data.
    shared_hash = hash_password(password)

    # --- staff and studios
    users: dict[str, User] = {}
    cycle_default = date(2024, 9, 1)
    for st in roster["staff"]:
        role = Role(st["role"])
        host_school = schools.get(st.get("school", ""))
        region = regions.get(st.get("region", "")) or (host_school.county if host_school else None)
        user = create_user(
            session, username=st["username"], display_name=st["name"], role=role, password_hash=shared_hash,
            region_id=region.id if region else None, school_id=host_school.id if host_school else None,
        )  # fmt: skip
        if role == Role.HOST:
            create_teacher_profile(
                session, user=user, stage=st["stage"], subjects=st["subjects"], tier="名师",
                years_teaching=st["years"], posts=["教研组长"], cycle_start=cycle_default,
            )  # fmt: skip
        users[st["username"]] = user
    summary.staff = len(users)
    studios: dict[str, Studio] = {}
    for s in roster["studios"]:
        studio = Studio(
            code=s["id"], name=s["name"], host_id=users[s["host"]].id, stage=s["stage"], subject=s["subject"],
            description=f"{s['name']}由{users[s['host']].display_name}主持，面向{s['stage']}教师开展课例研修、"
            "送教下乡和网络帮扶，优先服务乡村学校和薄弱学校。",
        )  # fmt: skip
        session.add(studio)
        studios[s["id"]] = studio
    session.flush()
    summary.studios = len(studios)
    summary.cases = sync_cases(session, content.cases, origin="content:cases").created

    # --- teachers
    courses = [
        c
        for c in session.scalars(select(Course).order_by(Course.code))
        if c.status == CourseStatus.PUBLISHED
    ]
    by_code = {c.code: c for c in courses}
    prereqs = {c.code: [p.code for p in c.prerequisites] for c in courses}
    school_list = list(schools.values())
    weights = [SCHOOL_SIZE[s.location] for s in school_list]
    teachers: list[User] = []
    n_teachers = int(roster["teachers"])
    iterator = range(1, n_teachers + 1)
    for n in tqdm(iterator, desc="演示教师与研修记录", unit="人", disable=not progress):
        school = rng.choices(school_list, weights=weights)[0]
        stage = rng.choice(school.stages)
        subject = _weighted(rng, SUBJECT_WEIGHTS[stage])
        tier = _weighted(rng, TIER_WEIGHTS)
        lo, hi = YEARS_BY_TIER[tier]
        years = rng.randint(lo, hi)
        female = rng.random() < 0.68
        name = rng.choice(SURNAMES) + "".join(
            rng.choice(GIVEN_FEMALE if female else GIVEN_MALE) for _ in range(rng.choice((1, 2, 2)))
        )
        posts = []
        if stage != "幼儿园" and rng.random() < 0.38:
            posts.append("班主任")
        if tier in ("骨干教师", "学科带头人", "名师") and rng.random() < 0.45:
            posts.append(rng.choice(["教研组长", "备课组长"]))
        if tier == "新任教师":
            cycle_start = rng.choice([date(2025, 9, 1), date(2026, 8, 25)])
        else:
            cycle_start = rng.choice([date(2024, 9, 1)] * 4 + [date(2022, 9, 1), date(2023, 9, 1)])
        user = create_user(
            session, username=f"t{n:03d}", display_name=name, role=Role.TEACHER, password_hash=shared_hash,
            region_id=school.county_id, school_id=school.id,
        )  # fmt: skip
        create_teacher_profile(
            session, user=user, stage=stage, subjects=[subject], tier=tier, years_teaching=years,
            posts=posts, cycle_start=cycle_start, gender="女" if female else "男",
        )  # fmt: skip
        summary.enrolments += _seed_history(
            session,
            rng,
            policy,
            user,
            stage,
            subject,
            tier,
            posts,
            cycle_start,
            today,
            courses,
            by_code,
            prereqs,
        )
        teachers.append(user)
    summary.teachers = len(teachers)

    summary.programs, summary.attendance = _seed_programs(
        session, rng, policy, roster, users, regions, teachers, by_code, today
    )
    skip = set(roster.get("demo_logins") or [])
    summary.enrolments += _seed_video_study(session, policy, teachers, by_code, skip, today)
    summary.pushes = _seed_studios(session, rng, studios, teachers, today)
    summary.credits = _count_credits(session)
    seed_practice_demo(session, content)  # practice records, reviews and a contest
    set_meta(session, DEMO_MARKER, roster_hash(roster))
    summary.logins = demo_logins(session, list(roster.get("demo_logins") or []))
    return summary


def _eligible(course: Course, stage: str, subject: str, tier: str, posts: list[str]) -> bool:
    return (
        stage in course.stages
        and ("通用" in course.subjects or subject in course.subjects)
        and (not course.levels or tier in course.levels)
        and (not course.posts or any(p in course.posts for p in posts))
    )


def _seed_history(
    session: Session, rng: random.Random, policy: CreditPolicy, user: User, stage: str, subject: str,
    tier: str, posts: list[str], cycle_start: date, today: date, courses: list[Course],
    by_code: dict[str, Course], prereqs: dict[str, list[str]],
) -> int:  # fmt: skip
    """Give a teacher completed, in-progress and dropped courses plus other credited hours."""
    _, pace, _ = rng.choices(PACE_PROFILES, weights=[w for *_, w in PACE_PROFILES])[0]
    elapsed = max(0, (today - cycle_start).days)
    required_per_day = policy.total_hours / (policy.cycle_years * 365)
    target = elapsed * required_per_day * pace * rng.uniform(0.85, 1.15)
    eligible = [c for c in courses if _eligible(c, stage, subject, tier, posts)]
    if tier == "新任教师":  # induction first
        eligible.sort(
            key=lambda c: (
                c.category != "新任教师入职" and c.category != "新教师入职",
                rng.random(),
            )
        )
    else:
        rng.shuffle(eligible)
        # ethics and the teacher's own subject come up more often, as real choices do
        eligible.sort(
            key=lambda c: (
                -(c.category == "师德师风") * rng.random() - (subject in c.subjects) * rng.random()
            )
        )
    chosen: list[Course] = []
    done: set[str] = set()
    total = 0.0
    for _ in range(3):  # a few passes so prerequisites taken earlier unlock later items
        for course in eligible:
            if total >= target or course.code in done:
                continue
            if all(p in done for p in prereqs[course.code]):
                chosen.append(course)
                done.add(course.code)
                total += course.hours
    n_enrolments = 0
    span = max(elapsed - 10, 1)
    days = sorted(rng.randint(0, span) for _ in chosen)
    for course, offset in zip(chosen, days, strict=True):
        when = _at(cycle_start + timedelta(days=offset), rng.randint(8, 22))
        enrol(
            session,
            teacher_id=user.id,
            course=course,
            when=when - timedelta(days=rng.randint(3, 30)),
        )
        # the demo's history predates recorded study: "migrated" completions, no decision
        enrolment, _, _ = complete_course(
            session,
            policy=policy,
            teacher_id=user.id,
            course=course,
            when=when,
            decision=None,
            evidence={"history": "迁移自原研修平台的学习记录"},
        )
        if rng.random() < 0.7:
            rate_course(
                session,
                enrolment=enrolment,
                rating=rng.choices([2, 3, 4, 5], weights=[1, 3, 6, 4])[0],
            )
        n_enrolments += 1
    # one or two courses in progress, sometimes one dropped
    rest = [c for c in eligible if c.code not in done and all(p in done for p in prereqs[c.code])]
    for course in rest[: rng.randint(0, 2)]:
        e = enrol(
            session,
            teacher_id=user.id,
            course=course,
            when=_at(today - timedelta(days=rng.randint(2, 40))),
        )
        share = round(rng.uniform(0.1, 0.8), 2)
        if not _study_partway(session, policy, user, course, share, e.enrolled_at):
            update_progress(session, enrolment=e, progress=share)
        n_enrolments += 1
    if rest[2:] and rng.random() < 0.25:
        e = enrol(
            session,
            teacher_id=user.id,
            course=rest[2],
            when=_at(today - timedelta(days=rng.randint(30, 200))),
        )
        update_progress(session, enrolment=e, progress=round(rng.uniform(0.05, 0.3), 2))
        drop_course(session, enrolment=e, when=_at(today - timedelta(days=rng.randint(1, 20))))
        n_enrolments += 1

    # school-based training (校本研修) once per completed school year, reviewed by the school
    year = 0
    while cycle_start + timedelta(days=365 * year + 300) <= today:
        earned = cycle_start + timedelta(days=365 * year + rng.randint(120, 300))
        hours = rng.choice([8, 10, 12, 16]) * pace
        record, _ = credit_hours(
            session, policy=policy, teacher_id=user.id, source=CreditSource.SCHOOL_BASED,
            category=rng.choice(["教研能力", "学科教学", "课堂提问与对话"]), hours=round(max(hours, 2) * 2) / 2,
            earned_on=earned, title=f"{earned.year}学年校本研修（集体备课与听评课）",
            idempotency_key=f"school_based:{user.id}:{year + 1}", evidence={"school_id": user.school_id},
        )  # fmt: skip
        if earned < today - timedelta(days=60) or rng.random() < 0.5:
            review_record(
                session,
                record_id=record.id,
                state=ReviewState.APPROVED,
                reviewer_id=None,
                comment="学校教务处审核通过",
            )
        year += 1
    if rng.random() < 0.3 and elapsed > 200:
        earned = cycle_start + timedelta(days=rng.randint(60, elapsed - 1))
        record, _ = credit_hours(
            session, policy=policy, teacher_id=user.id, source=CreditSource.RESEARCH, category="教研能力",
            hours=rng.choice([4, 6, 8]), earned_on=earned, title="县级教研活动：主题教研与公开课展示",
            idempotency_key=f"research:{user.id}:1", evidence={"activity": "县级教研"},
        )  # fmt: skip
        review_record(
            session,
            record_id=record.id,
            state=ReviewState.APPROVED,
            reviewer_id=None,
            comment="教研室认定",
        )
        if rng.random() < 0.15:  # a mistyped record, corrected the append-only way
            replace_record(
                session, policy=policy, record_id=record.id, reason="学时录入有误，按活动通知更正为3学时",
                actor_id=None, hours=3,
            )  # fmt: skip
    return n_enrolments


def _study_partway(
    session: Session, policy: CreditPolicy, user: User, course: Course, share: float,
    enrolled: datetime,
) -> bool:  # fmt: skip
    """Study about ``share`` of a course's units (never all of them): False when it has none."""
    units = active_units(session, course.id)
    if len(units) < 2:
        return False
    done = max(1, min(len(units) - 1, round(share * len(units))))
    _study(session, policy, user, course, units[: done + 1], min(share, 0.8), enrolled)
    return True


def _study(
    session: Session, policy: CreditPolicy, user: User, course: Course, units: list[CourseUnit],
    partway: float, enrolled: datetime,
) -> None:  # fmt: skip
    """Study ``units`` the way a teacher does, through the study service: each but the last
    opened and read to its end (a video or audio played through in real time, a report every
    interval as the player sends them); the last only opened, or played to ``partway`` of its
    length (< 90 %). So the course stays in progress and nothing is credited."""
    now = _as_utc(enrolled) + timedelta(days=1)
    for n, unit in enumerate(units):
        last = n == len(units) - 1
        now += timedelta(minutes=5)
        if unit.kind.is_media:
            upto = unit.duration_seconds * (partway if last else 1.0)
            step = policy.crediting.online.report_interval_seconds
            position = 0.0
            while True:
                report_position(
                    session, policy=policy, teacher_id=user.id, code=course.code,
                    unit_id=unit.id, position=position, now=now,
                )  # fmt: skip
                if position >= upto:
                    break
                position = min(position + step, upto)
                now += timedelta(seconds=step)
        else:
            open_unit(session, teacher_id=user.id, code=course.code, unit_id=unit.id, now=now)
            if not last:
                reach_end(
                    session, policy=policy, teacher_id=user.id, code=course.code,
                    unit_id=unit.id, now=now + timedelta(minutes=3),
                )  # fmt: skip


def _seed_video_study(
    session: Session, policy: CreditPolicy, teachers: list[User], by_code: dict[str, Course],
    skip: set[str], today: date,
) -> int:  # fmt: skip
    """Two teachers of each course with a video midway through it: the units before read, the
    video stopped partway (35 % and 60 %), so its bar shows what the server counted."""
    n_enrolments = 0
    for code in VIDEO_STUDY_COURSES:
        course = by_code.get(code)
        units = active_units(session, course.id) if course else []
        at = next((i for i, u in enumerate(units) if u.kind == UnitKind.VIDEO), None)
        if course is None or at is None:
            continue
        taken = set(session.scalars(select(Enrolment.teacher_id).where(
            Enrolment.course_id == course.id)))  # fmt: skip
        picked = [
            t for t in teachers
            if t.id not in taken and t.username not in skip and t.profile is not None
            and t.profile.stage in course.stages
        ][:2]  # fmt: skip
        for k, teacher in enumerate(picked):
            e = enrol(session, teacher_id=teacher.id, course=course,
                      when=_at(today - timedelta(days=4 + 3 * k)))  # fmt: skip
            _study(
                session, policy, teacher, course, units[: at + 1], 0.35 + 0.25 * k, e.enrolled_at
            )
            n_enrolments += 1
    return n_enrolments


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _seed_programs(
    session: Session, rng: random.Random, policy: CreditPolicy, roster: dict[str, Any], users: dict[str, User],
    regions: dict[str, Region], teachers: list[User], by_code: dict[str, Course], today: date,
) -> tuple[int, int]:  # fmt: skip
    attendance = 0
    for spec in roster.get("programs", []):
        trainer = users[spec["trainer"]]
        county = regions[spec["county"]]
        program = Program(
            code=spec["code"], title=spec["title"], category=spec["category"], trainer_id=trainer.id,
            region_id=county.id, starts_on=spec["starts_on"], ends_on=spec["ends_on"],
            description=f"由{trainer.display_name}组织，线上课程与线下集中研修相结合。",
        )  # fmt: skip
        session.add(program)
        session.flush()
        for code in spec.get("modules", []):
            if code in by_code:
                session.execute(
                    program_modules.insert().values(
                        program_id=program.id, course_id=by_code[code].id
                    )
                )
        members = [
            t for t in teachers
            if t.region_id == county.id and (not spec.get("stage") or t.profile and t.profile.stage == spec["stage"])
        ][:40]  # fmt: skip
        for t in members:
            session.execute(
                program_participants.insert().values(program_id=program.id, teacher_id=t.id)
            )
        for s in spec["sessions"]:
            starts = store_wall(datetime.fromisoformat(s["starts_at"]))  # Beijing time in content/
            off = OfflineSession(
                program_id=program.id, title=s["title"], location=s["location"], starts_at=starts,
                ends_at=starts + timedelta(hours=s["hours"] + 1.5), hours=s["hours"], category=s["category"],
            )  # fmt: skip
            session.add(off)
            session.flush()
            if stored_wall(starts).date() >= today:
                continue
            for t in members:
                status = rng.choices(list(AttendanceStatus), weights=[85, 5, 10])[0]
                record_attendance(
                    session, policy=policy, offline_session=off, teacher_id=t.id, status=status,
                    recorded_by_id=trainer.id, method=rng.choice(["code", "manual"]),
                )  # fmt: skip
                attendance += 1
    return len(roster.get("programs", [])), attendance


def _seed_studios(
    session: Session,
    rng: random.Random,
    studios: dict[str, Studio],
    teachers: list[User],
    today: date,
) -> int:
    pushes = 0
    for studio in studios.values():
        fits = [
            t for t in teachers
            if t.profile and t.profile.stage == studio.stage and (studio.subject == "通用" or studio.subject in t.profile.subjects)
        ]  # fmt: skip
        members = rng.sample(fits, min(len(fits), rng.randint(8, 14)))
        for t in members:
            joined = _at(today - timedelta(days=rng.randint(20, 400)))
            session.add(StudioMember(studio_id=studio.id, teacher_id=t.id, joined_at=joined))
        cases = list(
            session.scalars(
                select(CaseResource)
                .where(CaseResource.studio_id == studio.id)
                .order_by(CaseResource.code)
            )
        )
        for case in cases[:2]:
            when = _at(today - timedelta(days=rng.randint(5, 60)), 9)
            push = Push(studio_id=studio.id, case_id=case.id, created_by_id=studio.host_id, created_at=when,
                        note="请结合本人课堂实际阅读，并在研修日志中记录一条改进设想。")  # fmt: skip
            session.add(push)
            session.flush()
            audience = sorted(
                fits,
                key=lambda t: (not (t.school and (t.school.is_weak or t.school.is_rural)), t.id),
            )[:12]
            for t in audience:
                opened = when + timedelta(hours=rng.randint(2, 96)) if rng.random() < 0.7 else None
                done = (
                    opened + timedelta(hours=rng.randint(1, 72))
                    if opened and rng.random() < 0.6
                    else None
                )
                session.add(
                    PushDelivery(
                        push_id=push.id,
                        teacher_id=t.id,
                        delivered_at=when,
                        opened_at=opened,
                        completed_at=done,
                    )
                )
            pushes += 1
    session.flush()
    return pushes


def _count_credits(session: Session) -> int:
    from sqlalchemy import func

    from yanxiu.credits.models import CreditRecord

    return session.scalar(select(func.count(CreditRecord.id))) or 0
