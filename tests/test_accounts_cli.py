"""The first administrator and the roster from the command line; the password rules."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from yanxiu.accounts.models import Region, RegionLevel, Role, User
from yanxiu.accounts.passwords import check_password, one_time_password, password_problems
from yanxiu.accounts.roster import TEMPLATE_HEADER
from yanxiu.accounts.security import verify_password
from yanxiu.cli import app
from yanxiu.config import get_settings
from yanxiu.errors import Invalid
from yanxiu.spreadsheet import xlsx_bytes

runner = CliRunner()


def invoke(db, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    get_settings.cache_clear()
    try:
        return runner.invoke(app, list(args), input=stdin,
                             env={"YANXIU_DATABASE_URL": db.url, "YANXIU_ENV": "test"})  # fmt: skip
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("password", "why"),
    [("short1!", "太短"), ("1234567890123", "全是数字"), ("aaaaaaaaaaaa", "不同的字符太少"),
     ("Password123", "常见密码"), ("yanxiu2026", "常见密码"), ("zhangsan-2026", "用户名")],
)  # fmt: skip
def test_weak_passwords_are_refused_with_a_reason(password: str, why: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_password(password, username="zhangsan")
    assert why in refused.value.message
    assert refused.value.fields == {"password": refused.value.message}


def test_good_and_generated_passwords_pass() -> None:
    assert password_problems("Lingtou-Chalk-77", username="t001") == []
    assert all(password_problems(one_time_password(), username="x") == [] for _ in range(20))


def test_the_first_admin_creates_the_top_region(db) -> None:
    made = invoke(db, "create-user", "--role", "admin", "--username", "zhongxin", "--region", "北溪市",
                  "--password-stdin", stdin="Beixi-Centre-2026\n")  # fmt: skip
    assert made.exit_code == 0, made.output
    with db.factory() as s:
        region = s.scalar(select(Region))
        admin = s.scalar(select(User).where(User.username == "zhongxin"))
        assert region is not None and region.name == "北溪市" and region.level == RegionLevel.CITY
        assert admin is not None and admin.role == Role.ADMIN and admin.region_id == region.id
        assert not admin.must_change_password and verify_password(
            "Beixi-Centre-2026", admin.password_hash
        )
    weak = invoke(db, "create-user", "--role", "admin", "--username", "second", "--password-stdin",
                  stdin="12345678\n")  # fmt: skip
    assert weak.exit_code == 2 and "常见密码" in weak.output
    one = invoke(db, "create-user", "--role", "trainer", "--username", "trainer.bx", "--region", "北溪市",
                 "--one-time")  # fmt: skip
    assert one.exit_code == 0 and "one-time password" in one.output
    with db.factory() as s:
        trainer = s.scalar(select(User).where(User.username == "trainer.bx"))
        assert trainer is not None and trainer.must_change_password and trainer.role == Role.TRAINER
    unknown = invoke(
        db,
        "create-user",
        "--role",
        "host",
        "--username",
        "host.x",
        "--region",
        "不存在",
        "--one-time",
    )
    assert unknown.exit_code == 2 and "没有名为" in unknown.output


def test_import_roster_from_the_command_line(db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    invoke(db, "create-user", "--username", "zhongxin", "--region", "南山县", "--one-time")
    with db.factory() as s:
        from yanxiu.accounts.models import School, SchoolLocation

        county = s.scalar(select(Region))
        assert county is not None
        s.add(School(code="NS-1", name="南山县第一小学", county_id=county.id, stages=["小学"],
                     location=SchoolLocation.URBAN))  # fmt: skip
        s.commit()
    rows = [["N001", "李晓梅", "女", "南山县第一小学", "小学", "语文", "", "", "", "2012-09-01", "", "在职"],
            ["N002", "陈志远", "男", "南山县第一小学", "小学", "数学", "", "", "", "", "", "在职"]]  # fmt: skip
    path = tmp_path / "roster.xlsx"
    path.write_bytes(xlsx_bytes(TEMPLATE_HEADER, rows))
    dry = invoke(db, "import", "roster", str(path), "--dry-run")
    assert dry.exit_code == 0 and "新建 2 人" in dry.output
    with db.factory() as s:
        assert s.scalar(select(User).where(User.staff_no == "N001")) is None
    done = invoke(db, "import", "roster", str(path))
    assert done.exit_code == 0 and "初始密码" in done.output
    again = invoke(db, "import", "roster", str(path))
    assert again.exit_code == 0 and "未变化 2 人" in again.output
    rows[1][4] = "大学"
    path.write_bytes(xlsx_bytes(TEMPLATE_HEADER, rows))
    bad = invoke(db, "import", "roster", str(path))
    assert bad.exit_code == 2 and "第 3 行" in bad.output and "学段" in bad.output


def test_the_shipped_common_password_list_is_loaded() -> None:
    from yanxiu.accounts.passwords import common_passwords

    refused = common_passwords()
    assert len(refused) > 3000
    assert {"12345678", "password123", "woaini1314", "1qaz2wsx"} <= refused
