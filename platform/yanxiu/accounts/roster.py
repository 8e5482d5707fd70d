"""Roster import: the teacher list a centre exports from its teacher management system.

Columns (header names as people write them; aliases accepted): 工号/教师编号 (the key), 姓名,
性别, 学校, 学段, 任教学科 (several, 、/,/；), 岗位, 层次, 职称 (or one 层次/职称 column),
入职日期, 手机号 (optional), 状态 (在职/调出/离职). :func:`plan_roster` checks every row and
says what an import would do; :func:`apply_roster` writes it in one transaction, in bulk.

- All or nothing: any bad row and nothing is written; every bad row is reported with its row,
  column and what to fix, in Chinese.
- Idempotent: rows are matched by 工号; an unchanged row changes nothing (not even the audit).
- A school change is a transfer: the same account (so the ledger and history stay with it).
- 调出/离职 deactivate the account; it is never deleted. A later 在职 row reactivates it.
- Minimum personal data: a 身份证 column is ignored with a warning (never stored); phone
  numbers are stored for the centre's contact only and shown masked (:func:`mask_phone`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role, School, TeacherProfile, User
from yanxiu.accounts.scope import Scope
from yanxiu.audit.models import AuditEntry
from yanxiu.spreadsheet import Table

# canonical column -> accepted header names
COLUMNS: dict[str, tuple[str, ...]] = {
    "工号": ("工号", "教师编号", "职工号", "教职工号", "编号"),
    "姓名": ("姓名", "教师姓名"),
    "性别": ("性别",),
    "学校": ("学校", "学校名称", "所在学校", "任职学校", "单位"),
    "学段": ("学段", "任教学段"),
    "任教学科": ("任教学科", "学科", "任教科目"),
    "岗位": ("岗位", "职务"),
    "层次": ("层次", "教师层次", "层级"),
    "职称": ("职称", "专业技术职务"),
    "层次/职称": ("层次/职称", "层次职称"),
    "入职日期": ("入职日期", "入职时间", "参加工作时间", "参加工作日期"),
    "手机号": ("手机号", "手机", "手机号码", "联系电话"),
    "状态": ("状态", "在职状态", "人员状态"),
}
REQUIRED = ("工号", "姓名", "学校", "学段", "任教学科")
TEMPLATE_HEADER = ["工号", "姓名", "性别", "学校", "学段", "任教学科", "岗位", "层次", "职称",
                   "入职日期", "手机号", "状态"]  # fmt: skip
ID_HEADERS = ("身份证", "身份证号", "身份证号码", "公民身份号码", "证件号", "证件号码")
STAGES = ("幼儿园", "小学", "初中", "高中")
TITLES = ("未定级", "三级教师", "二级教师", "一级教师", "高级教师", "正高级教师")
STATUSES = ("在职", "调出", "离职")
SPLIT = re.compile(r"[、,，;；/／\s]+")
STAFF_NO = re.compile(r"^[A-Za-z0-9_-]{2,32}$")
PHONE = re.compile(r"^1[3-9]\d{9}$")
DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
CHUNK = 500  # rows per IN (...) query and per progress step
FIELD_LABELS = {"display_name": "姓名", "gender": "性别", "school_id": "学校", "stage": "学段",
                "subjects": "任教学科", "posts": "岗位", "tier": "层次", "title": "职称",
                "hired_on": "入职日期", "phone": "手机号", "employment": "状态"}  # fmt: skip


def mask_phone(phone: str | None) -> str:
    """138****5678: enough to recognise, not enough to call (PIPL: minimum necessary)."""
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


@dataclass(frozen=True)
class RosterRules:
    """What the rows are checked against (the policy's tiers live above this layer)."""

    tiers: tuple[str, ...]
    induction_tier: str
    cycle_start: date
    today: date


@dataclass(frozen=True)
class RowProblem:
    row: int  # spreadsheet row number (the header is row 1); 0 = the file as a whole
    column: str
    message: str

    @property
    def where(self) -> str:
        return f"第 {self.row} 行" if self.row else "整个文件"


@dataclass
class Person:
    """One valid row: the account and profile it asks for."""

    row: int
    staff_no: str
    display_name: str
    gender: str | None
    school_id: int
    county_id: int
    stage: str
    subjects: list[str]
    posts: list[str]
    tier: str | None  # None: not given (a new teacher gets default_tier; others keep theirs)
    default_tier: str
    title: str | None  # None: not given (kept)
    hired_on: date | None
    phone: str | None
    employment: str

    @property
    def active(self) -> bool:
        return self.employment == "在职"


@dataclass
class Change:
    row: int
    staff_no: str
    name: str
    kind: str  # create / update / transfer / deactivate / reactivate / unchanged / skip
    details: list[str] = field(default_factory=list)


@dataclass
class RosterPlan:
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    existing: dict[str, User] = field(default_factory=dict)
    profiled: set[int] = field(default_factory=set)  # existing users that have a profile
    rows: int = 0

    def count(self, kind: str) -> int:
        return sum(1 for c in self.changes if c.kind == kind)

    def counts(self) -> dict[str, int]:
        kinds = ("create", "update", "transfer", "deactivate", "reactivate", "unchanged", "skip")
        return {k: self.count(k) for k in kinds}


def _columns(header: list[str], plan: RosterPlan) -> dict[str, int]:
    where: dict[str, int] = {}
    alias = {a: canon for canon, names in COLUMNS.items() for a in names}
    for index, name in enumerate(header):
        clean = name.replace(" ", "").replace("\u3000", "").strip("*＊")
        if not clean:
            continue
        if any(clean.startswith(h) for h in ID_HEADERS):
            plan.warnings.append(f"第 {index + 1} 列“{name}”：本系统不保存身份证号码，该列已忽略"
                                 "（请从文件中删除这一列）。")  # fmt: skip
        elif clean in alias and alias[clean] not in where:
            where[alias[clean]] = index
        elif clean in alias:
            plan.problems.append(
                RowProblem(1, name, f"表头中“{name}”与另一列重复，请删除其中一列。")
            )
        else:
            plan.warnings.append(f"第 {index + 1} 列“{name}”不是名册的列，已忽略。")
    for needed in REQUIRED:
        if needed not in where:
            names = "或".join(f"“{n}”" for n in COLUMNS[needed][:2])
            plan.problems.append(
                RowProblem(1, needed, f"缺少必填列{names}：请按模板在第一行加上这一列。")
            )
    return where


def parse_date(text: str) -> date | None:
    """2019-09-01, 2019/9/1, 2019.9.1, 2019年9月1日, 20190901, or an Excel serial day."""
    text = text.strip()
    if re.fullmatch(r"\d{8}", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    elif re.fullmatch(r"\d{5}", text):  # Excel's day number (1900 system)
        return date.fromordinal(date(1899, 12, 30).toordinal() + int(text))
    match = DATE.match(text)
    if not match:
        raise ValueError(text)
    return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))


def _lookup_schools(
    session: Session, scope: Scope | None
) -> tuple[dict[str, School | None], dict[int, int]]:
    """Schools by name and by code (None where a name is ambiguous), and school → county."""
    by_key: dict[str, School | None] = {}
    county: dict[int, int] = {}
    for school in session.scalars(select(School)):
        county[school.id] = school.county_id
        if scope is not None and not scope.covers_region(school.county_id):
            continue
        by_key[school.code] = school
        by_key[school.name] = None if school.name in by_key else school
    return by_key, county


def plan_roster(
    session: Session, table: Table, *, scope: Scope | None, rules: RosterRules,
    progress: Callable[[int], None] | None = None,
) -> RosterPlan:  # fmt: skip
    """Check every row and work out what importing ``table`` would change (writes nothing)."""
    plan = RosterPlan(rows=len(table.rows))
    where = _columns(table.header, plan)
    if plan.problems:
        return plan
    schools, county_of = _lookup_schools(session, scope)
    seen: dict[str, int] = {}
    for i, (number, cells) in enumerate(table.rows):
        person = _person(number, cells, where, schools, rules, plan, seen)
        if person is not None:
            plan.people.append(person)
        if progress is not None and (i + 1) % CHUNK == 0:
            progress(CHUNK)
    _compare(session, plan, scope, county_of)
    return plan


def _person(
    number: int, cells: list[str], where: dict[str, int], schools: dict[str, School | None],
    rules: RosterRules, plan: RosterPlan, seen: dict[str, int],
) -> Person | None:  # fmt: skip
    def cell(column: str) -> str:
        index = where.get(column)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    before = len(plan.problems)

    def bad(column: str, message: str) -> None:
        plan.problems.append(RowProblem(number, column, message))

    staff_no = cell("工号")
    if not staff_no:
        bad("工号", "工号为空：每位教师都要有唯一的工号（教师编号）。")
    elif not STAFF_NO.match(staff_no):
        bad("工号", f"工号“{staff_no}”格式不正确：只能包含字母、数字、下划线或连字符，2–32 位。")
    elif staff_no in seen:
        bad("工号", f"工号“{staff_no}”与第 {seen[staff_no]} 行重复：同一位教师只能出现一次。")
    else:
        seen[staff_no] = number
    name = cell("姓名")
    if not name or len(name) > 32:
        bad("姓名", "姓名为空或超过 32 个字。")
    gender = cell("性别") or None
    if gender not in (None, "男", "女"):
        bad("性别", f"性别“{gender}”应填“男”或“女”（也可留空）。")
    school_text, school = cell("学校"), None
    if not school_text:
        bad("学校", "学校为空：请填写学校全称或学校代码。")
    elif school_text not in schools:
        bad("学校", f"找不到学校“{school_text}”：请检查名称，或先在“区域与学校”中添加这所学校。")
    elif schools[school_text] is None:
        bad("学校", f"有多所学校名为“{school_text}”：请改填学校代码。")
    else:
        school = schools[school_text]
    stage = cell("学段")
    if stage not in STAGES:
        bad("学段", f"学段“{stage}”应为：{'、'.join(STAGES)}。")
    subjects = [s for s in SPLIT.split(cell("任教学科")) if s]
    if not subjects:
        bad("任教学科", "任教学科为空：填写一门或多门，用顿号“、”分隔，如“数学、科学”。")
    elif any(len(s) > 12 for s in subjects):
        bad("任教学科", "学科名称过长：多门学科请用顿号“、”分隔。")
    posts = [s for s in SPLIT.split(cell("岗位")) if s]
    tier, title = _tier_title(cell("层次"), cell("职称"), cell("层次/职称"), rules, bad)
    hired_on = None
    if cell("入职日期"):
        try:
            hired_on = parse_date(cell("入职日期"))
            if hired_on is not None and not date(1950, 1, 1) <= hired_on <= rules.today:
                bad("入职日期", f"入职日期“{cell('入职日期')}”不在 1950 年至今天之间。")
        except ValueError:
            bad("入职日期", f"入职日期“{cell('入职日期')}”无法识别：请写成 2019-09-01 的格式。")
    phone = re.sub(r"[\s-]", "", cell("手机号")).removeprefix("+86") or None
    if phone is not None and not PHONE.match(phone):
        bad("手机号", "手机号应为 11 位数字、以 1 开头（也可留空）。")
    employment = cell("状态") or "在职"
    if employment not in STATUSES:
        bad("状态", f"状态“{employment}”应为：在职、调出或离职。")
    if len(plan.problems) > before or school is None:
        return None
    # not given: a new teacher hired within a year is in induction, others in the second tier
    recent = hired_on is not None and (rules.today - hired_on).days < 365
    default_tier = rules.induction_tier if recent else rules.tiers[min(1, len(rules.tiers) - 1)]
    return Person(number, staff_no, name, gender, school.id, school.county_id, stage, subjects,
                  posts, tier, default_tier, title, hired_on, phone, employment)  # fmt: skip


def _tier_title(
    tier: str, title: str, both: str, rules: RosterRules, bad: Callable[[str, str], None]
) -> tuple[str | None, str | None]:
    if both and both in rules.tiers:
        tier = tier or both
    elif both and both in TITLES:
        title = title or both
    elif both:
        bad(
            "层次/职称",
            f"“{both}”既不是教师层次（{'、'.join(rules.tiers)}），也不是职称（{'、'.join(TITLES)}）。",
        )
    if tier and tier not in rules.tiers:
        bad("层次", f"层次“{tier}”应为：{'、'.join(rules.tiers)}（也可留空）。")
    if title and title not in TITLES:
        bad("职称", f"职称“{title}”应为：{'、'.join(TITLES)}（也可留空）。")
    return tier or None, title or None


def _compare(
    session: Session, plan: RosterPlan, scope: Scope | None, county_of: dict[int, int]
) -> None:
    keys = [p.staff_no for p in plan.people]
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        for user in session.scalars(select(User).where(User.staff_no.in_(chunk))):
            plan.existing[str(user.staff_no)] = user
        clash = select(User.username).where(User.username.in_(chunk), User.staff_no.is_(None))
        for username in session.scalars(clash):
            row = next(p.row for p in plan.people if p.staff_no == username)
            plan.problems.append(RowProblem(row, "工号", f"工号“{username}”与一个已有的登录名相同："
                                                         "请核对工号，或联系管理员处理该账号。"))  # fmt: skip
    profiles: dict[int, TeacherProfile] = {}
    ids = [u.id for u in plan.existing.values()]
    for start in range(0, len(ids), CHUNK):
        query = select(TeacherProfile).where(TeacherProfile.user_id.in_(ids[start : start + CHUNK]))
        profiles |= {p.user_id: p for p in session.scalars(query)}
    plan.profiled = set(profiles)
    for person in plan.people:
        found = plan.existing.get(person.staff_no)
        if found is None:
            kind = "create" if person.active else "skip"
            plan.changes.append(Change(person.row, person.staff_no, person.display_name, kind))
            continue
        if found.role != Role.TEACHER:
            plan.problems.append(
                RowProblem(
                    person.row,
                    "工号",
                    f"工号“{person.staff_no}”属于一个非教师账号，不能按教师导入。",
                )
            )
            continue
        home = county_of.get(found.school_id or -1, found.region_id)
        if scope is not None and not scope.covers_region(home):
            plan.problems.append(RowProblem(person.row, "工号", f"工号“{person.staff_no}”属于本辖区以外的教师，"
                                                                "不能由您修改；如是调入，请由原辖区管理员先办理调出。"))  # fmt: skip
            continue
        details = _differences(found, profiles.get(found.id), person)
        if not details:
            kind = "unchanged"
        elif found.is_active and not person.active:
            kind = "deactivate"
        elif not found.is_active and person.active:
            kind = "reactivate"
        elif found.school_id != person.school_id:
            kind = "transfer"
        else:
            kind = "update"
        plan.changes.append(Change(person.row, person.staff_no, person.display_name, kind, details))


def _wanted(person: Person) -> dict[str, object]:
    """The fields a row sets (tier and title only when given: otherwise they are kept)."""
    wanted: dict[str, object] = {
        "display_name": person.display_name, "gender": person.gender, "school_id": person.school_id,
        "stage": person.stage, "subjects": person.subjects, "posts": person.posts,
        "hired_on": person.hired_on, "phone": person.phone, "employment": person.employment,
    }  # fmt: skip
    if person.tier is not None:
        wanted["tier"] = person.tier
    if person.title is not None:
        wanted["title"] = person.title
    return wanted


def _differences(user: User, profile: TeacherProfile | None, person: Person) -> list[str]:
    have: dict[str, object] = {
        "display_name": user.display_name, "school_id": user.school_id, "phone": user.phone,
        "employment": user.employment or ("在职" if user.is_active else "离职"),
    }  # fmt: skip
    if profile is not None:
        have |= {"gender": profile.gender, "stage": profile.stage, "subjects": list(profile.subjects),
                 "posts": list(profile.posts), "tier": profile.tier, "title": profile.title,
                 "hired_on": profile.hired_on}  # fmt: skip
    changed = [k for k, v in _wanted(person).items() if have.get(k) != v]
    if not person.active and not user.is_active:  # already gone: the rest does not matter
        changed = [k for k in changed if k == "employment"]
    return [FIELD_LABELS[k] for k in changed]


@dataclass(frozen=True)
class Applied:
    created: int
    updated: int
    transferred: int
    deactivated: int
    reactivated: int
    unchanged: int
    skipped: int


def apply_roster(
    session: Session, plan: RosterPlan, *, rules: RosterRules, password_hash: str,
    actor_id: int | None, progress: Callable[[int], None] | None = None,
) -> Applied:  # fmt: skip
    """Write a plan without problems in bulk (the caller's transaction: all or nothing)."""
    assert not plan.problems, "a plan with problems is never applied"
    by_no = {p.staff_no: p for p in plan.people}
    todo = [c for c in plan.changes if c.kind not in ("unchanged", "skip")]
    creates = [by_no[c.staff_no] for c in todo if c.kind == "create"]
    audits: list[dict[str, object]] = []
    for start in range(0, len(creates), CHUNK):
        batch = creates[start : start + CHUNK]
        ids = session.execute(
            insert(User).returning(User.id, sort_by_parameter_order=True),
            [{"username": p.staff_no, "staff_no": p.staff_no, "display_name": p.display_name,
              "password_hash": password_hash, "role": Role.TEACHER, "region_id": p.county_id,
              "school_id": p.school_id, "phone": p.phone, "employment": p.employment,
              "is_active": True, "must_change_password": True, "password_version": 0}
             for p in batch],
        ).scalars().all()  # fmt: skip
        session.execute(
            insert(TeacherProfile),
            [_profile(uid, p, rules) for uid, p in zip(ids, batch, strict=True)],
        )
        audits += [
            _audit(actor_id, "roster.create", uid, p, []) for uid, p in zip(ids, batch, strict=True)
        ]
        if progress is not None:
            progress(len(batch))
    changed = [c for c in todo if c.kind != "create"]
    for start in range(0, len(changed), CHUNK):
        changes = changed[start : start + CHUNK]
        user_rows: list[dict[str, object]] = []
        profile_rows: list[dict[str, object]] = []
        new_profiles: list[dict[str, object]] = []
        for change in changes:
            person, user = by_no[change.staff_no], plan.existing[change.staff_no]
            user_rows.append({"id": user.id, "display_name": person.display_name, "school_id": person.school_id,
                              "region_id": person.county_id, "phone": person.phone,
                              "employment": person.employment, "is_active": person.active})  # fmt: skip
            if user.id not in plan.profiled:
                new_profiles.append(_profile(user.id, person, rules))
            else:
                profile_rows.append(_profile_update(user.id, person, rules))
            audits.append(
                _audit(actor_id, f"roster.{change.kind}", user.id, person, change.details)
            )
        session.execute(update(User), user_rows)
        if profile_rows:
            session.execute(update(TeacherProfile), profile_rows)
        if new_profiles:
            session.execute(insert(TeacherProfile), new_profiles)
        if progress is not None:
            progress(len(changes))
    if audits:
        session.execute(insert(AuditEntry), audits)
    counts = plan.counts()
    return Applied(counts["create"], counts["update"], counts["transfer"], counts["deactivate"],
                   counts["reactivate"], counts["unchanged"], counts["skip"])  # fmt: skip


def _profile(user_id: int, person: Person, rules: RosterRules) -> dict[str, object]:
    years = max(0, rules.today.year - person.hired_on.year) if person.hired_on else 0
    start = max(rules.cycle_start, person.hired_on) if person.hired_on else rules.cycle_start
    return {"user_id": user_id, "stage": person.stage, "subjects": person.subjects,
            "tier": person.tier or person.default_tier, "years_teaching": years,
            "posts": person.posts, "gender": person.gender, "cycle_start": start,
            "hired_on": person.hired_on, "title": person.title}  # fmt: skip


def _profile_update(user_id: int, person: Person, rules: RosterRules) -> dict[str, object]:
    """An existing profile: the row's fields; its cycle is never restarted by an import."""
    row = {"user_id": user_id, "stage": person.stage, "subjects": person.subjects,
           "posts": person.posts, "gender": person.gender, "hired_on": person.hired_on}  # fmt: skip
    if person.hired_on is not None:
        row["years_teaching"] = max(0, rules.today.year - person.hired_on.year)
    if person.tier is not None:
        row["tier"] = person.tier
    if person.title is not None:
        row["title"] = person.title
    return row


def _audit(
    actor_id: int | None, action: str, user_id: int, person: Person, details: list[str]
) -> dict[str, object]:
    return {"actor_id": actor_id, "action": action, "entity": "user", "entity_id": str(user_id),
            "detail": {"staff_no": person.staff_no, "row": person.row, "changed": details}}  # fmt: skip
