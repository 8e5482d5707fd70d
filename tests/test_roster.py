"""Roster import: all or nothing, every bad row by row and column, idempotent, transfers keep the
ledger, leavers deactivated (never deleted), no ID numbers, phones masked; on every backend."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from sqlalchemy import func, select

from yanxiu.accounts.models import (
    Region,
    RegionLevel,
    Role,
    School,
    SchoolLocation,
    TeacherProfile,
    User,
)
from yanxiu.accounts.roster import TEMPLATE_HEADER, RosterRules, mask_phone
from yanxiu.accounts.roster_job import RosterOutcome, RosterRejected, run_roster_import
from yanxiu.accounts.scope import Scope
from yanxiu.audit.models import AuditEntry
from yanxiu.credits.ledger import credit_hours
from yanxiu.credits.models import CreditRecord, CreditSource
from yanxiu.errors import Invalid
from yanxiu.spreadsheet import check_xlsx, xlsx_bytes

RULES = RosterRules(tiers=("新任教师", "合格教师", "骨干教师", "学科带头人", "名师"), induction_tier="新任教师",
                    cycle_start=dt.date(2024, 9, 1), today=dt.date(2026, 11, 20))  # fmt: skip
PASSWORD = "Roster-Initial-2026"


class Quiet:
    def set_total(self, total: int) -> None: ...
    def advance(self, steps: int = 1, message: str | None = None) -> None: ...


def setup_org(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with db.factory() as s:
        city = Region(code="BX01", name="北溪市", level=RegionLevel.CITY)
        s.add(city)
        s.flush()
        ids: dict[str, int] = {"city": city.id}
        for code, name in (("BX0101", "南山县"), ("BX0102", "东河县")):
            county = Region(code=code, name=name, level=RegionLevel.COUNTY, parent_id=city.id)
            s.add(county)
            s.flush()
            ids[name] = county.id
        for code, name, county in (("NS-1", "南山县第一小学", "南山县"), ("NS-2", "南山县第二中学", "南山县"),
                                   ("DH-1", "东河县实验小学", "东河县")):  # fmt: skip
            school = School(
                code=code,
                name=name,
                county_id=ids[county],
                stages=["小学"],
                location=SchoolLocation.URBAN,
            )
            s.add(school)
            s.flush()
            ids[name] = school.id
        admin = User(username="admin.ns", display_name="南山管理员", password_hash="x", role=Role.ADMIN,
                     region_id=ids["南山县"])  # fmt: skip
        s.add(admin)
        s.commit()
        ids["admin"] = admin.id
    return ids


def row(no: str, name: str = "李晓梅", school: str = "南山县第一小学", **kw: str) -> list[str]:
    values = {"工号": no, "姓名": name, "性别": "女", "学校": school, "学段": "小学", "任教学科": "语文、道德与法治",
              "岗位": "班主任", "层次": "", "职称": "一级教师", "入职日期": "2012-09-01", "手机号": "13812345678",
              "状态": "在职"} | kw  # fmt: skip
    return [values[h] for h in TEMPLATE_HEADER]


def run(db, rows: list[list[str]], *, dry: bool = False, scope: Scope | None = None,  # type: ignore[no-untyped-def]
        header: list[str] = TEMPLATE_HEADER, name: str = "roster.xlsx") -> RosterOutcome:  # fmt: skip
    data = xlsx_bytes(header, rows)
    if name.endswith(".csv"):
        data = ("\ufeff" + "\n".join(",".join(r) for r in [header, *rows])).encode()
    outcome = RosterOutcome(filename=name, dry_run=dry)
    run_roster_import(Quiet(), factory=db.factory, data=data, outcome=outcome, rules=RULES, actor_id=None,
                      scope=scope, initial_password=PASSWORD)  # fmt: skip
    return outcome


def snapshot(db) -> tuple:  # type: ignore[no-untyped-def]
    with db.factory() as s:
        users = s.execute(select(User.id, User.username, User.display_name, User.school_id, User.is_active,
                                 User.phone, User.employment).order_by(User.id)).all()  # fmt: skip
        profiles = s.execute(select(TeacherProfile.user_id, TeacherProfile.subjects, TeacherProfile.tier,
                                    TeacherProfile.title).order_by(TeacherProfile.user_id)).all()  # fmt: skip
        audits = s.scalar(select(func.count(AuditEntry.id)))
    return users, profiles, audits


def test_import_then_the_same_file_again_changes_nothing(db) -> None:
    setup_org(db)
    rows = [
        row("20190012"),
        row("20210305", "陈志远", "南山县第二中学", 学段="初中", 任教学科="数学", 层次="骨干教师"),
    ]
    first = run(db, rows)
    assert first.state == "imported" and first.counts["create"] == 2
    before = snapshot(db)
    again = run(db, rows)
    assert again.counts["unchanged"] == 2
    assert sum(v for k, v in again.counts.items() if k != "unchanged") == 0
    after = snapshot(db)
    assert after[:2] == before[:2]
    assert after[2] == before[2] + 1  # only the import itself is audited, no per-teacher entry
    with db.factory() as s:
        t = s.scalar(select(User).where(User.staff_no == "20210305"))
        assert t is not None and t.must_change_password and t.role == Role.TEACHER
        assert (
            t.profile is not None
            and t.profile.tier == "骨干教师"
            and t.profile.subjects == ["数学"]
        )
        li = s.scalar(select(User).where(User.staff_no == "20190012"))
        assert (
            li is not None
            and li.profile is not None
            and li.profile.subjects == ["语文", "道德与法治"]
        )


def test_a_transfer_keeps_the_account_and_its_ledger(db, policy) -> None:
    ids = setup_org(db)
    run(db, [row("20190012")])
    with db.factory() as s:
        teacher = s.scalar(select(User).where(User.staff_no == "20190012"))
        assert teacher is not None
        credit_hours(s, policy=policy, teacher_id=teacher.id, source=CreditSource.ONLINE, category="师德师风",
                     hours=6, earned_on=dt.date(2025, 3, 1), title="师德专题", idempotency_key="t:1")  # fmt: skip
        s.commit()
        teacher_id = teacher.id
    moved = run(db, [row("20190012", school="南山县第二中学")])
    assert moved.counts["transfer"] == 1 and moved.samples["transfer"][0]["details"] == "学校"
    with db.factory() as s:
        teacher = s.get(User, teacher_id)
        assert teacher is not None and teacher.school_id == ids["南山县第二中学"]
        hours = s.scalar(
            select(func.sum(CreditRecord.hours)).where(CreditRecord.teacher_id == teacher_id)
        )
        assert hours == 6


def test_leavers_are_deactivated_never_deleted_and_can_return(db) -> None:
    setup_org(db)
    run(db, [row("20190012"), row("20190013", "王芳")])
    gone = run(db, [row("20190012"), row("20190013", "王芳", 状态="离职")])
    assert gone.counts["deactivate"] == 1
    with db.factory() as s:
        wang = s.scalar(select(User).where(User.staff_no == "20190013"))
        assert wang is not None and not wang.is_active and wang.employment == "离职"
    back = run(db, [row("20190013", "王芳")])
    assert back.counts["reactivate"] == 1
    # a new 工号 that has already left is not created at all
    skipped = run(db, [row("20190099", "赵强", 状态="调出")])
    assert skipped.counts["skip"] == 1
    with db.factory() as s:
        assert s.scalar(select(User.id).where(User.staff_no == "20190099")) is None


def test_every_bad_row_is_reported_by_row_and_column_and_nothing_is_written(db) -> None:
    setup_org(db)
    before = snapshot(db)
    rows = [row("20190012"), row("", "无工号"), row("20190014", school="不存在的学校"), row("20190015", 学段="大学"),
            row("20190016", 手机号="12345"), row("20190017", 入职日期="去年"), row("20190012", "重复")]  # fmt: skip
    outcome = RosterOutcome(filename="x.xlsx", dry_run=False)
    with pytest.raises(RosterRejected):
        run_roster_import(Quiet(), factory=db.factory, data=xlsx_bytes(TEMPLATE_HEADER, rows), outcome=outcome,
                          rules=RULES, actor_id=None, scope=None, initial_password=PASSWORD)  # fmt: skip
    found = {(p.row, p.column) for p in outcome.problems}
    assert found == {
        (3, "工号"),
        (4, "学校"),
        (5, "学段"),
        (6, "手机号"),
        (7, "入职日期"),
        (8, "工号"),
    }
    assert any("与第 2 行重复" in p.message for p in outcome.problems)
    assert all(p.where.startswith("第 ") for p in outcome.problems)
    after = snapshot(db)
    assert (
        after[:2] == before[:2]
    )  # no account, no profile: the good first row was not written either


def test_a_dry_run_writes_nothing(db) -> None:
    setup_org(db)
    before = snapshot(db)
    outcome = run(db, [row("20190012"), row("20190013", "王芳")], dry=True)
    assert outcome.state == "previewed" and outcome.counts["create"] == 2
    assert snapshot(db) == before


def test_no_national_id_is_stored_and_phones_are_masked(db) -> None:
    setup_org(db)
    header = [*TEMPLATE_HEADER, "身份证号"]
    outcome = run(db, [[*row("20190012"), "110101199003071234"]], header=header, name="roster.csv")
    assert any("身份证" in w for w in outcome.warnings)
    with db.engine.connect() as conn:  # nowhere in the database
        for table in ("users", "teacher_profiles", "audit_log"):
            dump = str(conn.exec_driver_sql(f"SELECT * FROM {table}").all())
            assert "110101199003071234" not in dump
    assert mask_phone("13812345678") == "138****5678"


def test_a_county_admin_imports_only_into_their_county(db) -> None:
    ids = setup_org(db)
    with db.factory() as s:
        admin = s.get(User, ids["admin"])
        assert admin is not None
        scope = Scope.for_user(s, admin)
    with pytest.raises(RosterRejected):
        run(db, [row("20190012", school="东河县实验小学")], scope=scope)
    run(db, [row("20190020", school="东河县实验小学")])  # the system (no scope) puts one there
    outcome = RosterOutcome(filename="x.xlsx", dry_run=True)
    with pytest.raises(RosterRejected):
        run_roster_import(Quiet(), factory=db.factory, outcome=outcome, rules=RULES, actor_id=None, scope=scope,
                          data=xlsx_bytes(TEMPLATE_HEADER, [row("20190020")]), initial_password=PASSWORD)  # fmt: skip
    assert "本辖区以外" in outcome.problems[0].message


def test_a_missing_required_column_is_named(db) -> None:
    setup_org(db)
    header = [h for h in TEMPLATE_HEADER if h != "学段"]
    outcome = RosterOutcome(filename="r.xlsx", dry_run=True)
    with pytest.raises(RosterRejected):
        run_roster_import(Quiet(), factory=db.factory, outcome=outcome, rules=RULES, actor_id=None, scope=None,
                          data=xlsx_bytes(header, [row("1")[:4]]), initial_password=PASSWORD)  # fmt: skip
    assert outcome.problems[0].row == 1 and "学段" in outcome.problems[0].message


def test_a_zip_bomb_is_refused_before_reading() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"<" + b"a" * (120 * 1024 * 1024))
    with pytest.raises(Invalid, match="解压后|压缩比"):
        check_xlsx(out.getvalue())
