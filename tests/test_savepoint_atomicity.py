"""A savepoint must not commit anything: what a rolled-back transaction wrote is gone.

pysqlite opens a transaction only before INSERT/UPDATE/DELETE, so a SAVEPOINT issued first (as
credit_hours does, to survive a concurrent double write) would itself start the transaction and
its RELEASE would COMMIT: the credit would outlive a rollback, or a crash, without its audit
entry (tests/test_crash.py caught one such half in a kill). The engine opens the transaction
before any savepoint.
"""

from datetime import date

from sqlalchemy import func, select

from tests.factories import make_teacher
from yanxiu.audit.models import AuditEntry
from yanxiu.credits.ledger import credit_hours
from yanxiu.credits.models import CreditRecord, CreditSource


def test_a_rolled_back_credit_leaves_no_record_and_no_audit_entry(db, policy):
    with db.factory() as s:
        teacher_id = make_teacher(s).id
        s.commit()
    with db.factory() as s:
        _, created = credit_hours(
            s, policy=policy, teacher_id=teacher_id, source=CreditSource.ONLINE, category="学科教学",
            hours=1, earned_on=date(2025, 1, 1), title="第1课", idempotency_key="savepoint:1",
        )  # fmt: skip
        assert created
        with db.factory() as other:  # another connection sees nothing before the commit
            assert other.scalar(select(func.count(CreditRecord.id))) == 0
        s.rollback()
    with db.factory() as s:
        assert s.scalar(select(func.count(CreditRecord.id))) == 0
        assert (
            s.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "credit.create"))
            == 0
        )
