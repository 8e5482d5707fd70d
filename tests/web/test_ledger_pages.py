"""The teacher's whole ledger in-app, and a teacher's record for staff in scope (issue 17)."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.web.conftest import Site
from yanxiu.accounts.models import User
from yanxiu.audit.models import AuditEntry
from yanxiu.credits.models import CreditRecord


def _rows(html: str) -> int:
    return len(re.findall(r'<tr(?: class="muted")?>\s*<td>\d{4}-\d{2}-\d{2}</td>', html))


def test_a_teacher_reads_and_filters_the_whole_ledger(demo_site: Site) -> None:
    client = demo_site.client("t112")
    page = client.get("/teacher/ledger")
    assert page.status_code == 200 and "我的学时台账" in page.text
    with demo_site.factory() as s:
        me = s.scalar(select(User).where(User.username == "t112"))
        records = s.scalars(select(CreditRecord).where(CreditRecord.teacher_id == me.id)).all()
    assert f"共 {len(records)} 条记录" in page.text
    assert _rows(page.text) == min(len(records), 30)
    ethics = [r for r in records if r.category == "师德师风"]
    filtered = client.get("/teacher/ledger", params={"category": "师德师风"})
    assert f"共 {len(ethics)} 条记录" in filtered.text
    assert _rows(filtered.text) == min(len(ethics), 30)
    # a year filter outside the cycle, or a made-up category, shows everything rather than failing
    assert (
        client.get("/teacher/ledger", params={"year": "9", "category": "无此类"}).status_code == 200
    )


def test_staff_in_scope_open_a_teachers_record_and_the_look_is_audited(demo_site: Site) -> None:
    with demo_site.factory() as s:
        teacher = s.scalar(select(User).where(User.username == "t112"))
        school_id = teacher.school_id
    admin = demo_site.client("admin")
    school = admin.get(f"/admin/schools/{school_id}")
    assert f'href="/people/teachers/{teacher.id}"' in school.text
    record = admin.get(f"/people/teachers/{teacher.id}")
    assert record.status_code == 200 and "学时台账" in record.text and "师德师风" in record.text
    assert (
        admin.get(f"/people/teachers/{teacher.id}/path", headers={"HX-Request": "true"}).status_code
        == 200
    )
    with demo_site.factory() as s:
        looks = s.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "teacher.view_record", AuditEntry.entity_id == str(teacher.id)
            )
        ).all()
    assert looks, "opening a teacher's record is audited"
    # another county's trainer is refused
    assert (
        demo_site.client("trainer.baishi").get(f"/people/teachers/{teacher.id}").status_code == 403
    )
