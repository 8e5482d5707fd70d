"""Credits records one transaction at a time and reports each commit; the crash test kills it."""

import sys
from datetime import date

import yanxiu.tables  # noqa: F401
from yanxiu.config import PROJECT_ROOT
from yanxiu.credits.ledger import credit_hours
from yanxiu.credits.models import CreditSource
from yanxiu.credits.policy import load_policies
from yanxiu.db import make_engine, make_session_factory


def main(url: str, teacher_id: int, n: int) -> None:
    policy = load_policies(PROJECT_ROOT / "content" / "policies")["GX"]
    factory = make_session_factory(make_engine(url))
    for i in range(n):
        with factory() as session:
            credit_hours(
                session, policy=policy, teacher_id=teacher_id, source=CreditSource.ONLINE, category="学科教学",
                hours=1, earned_on=date(2025, 1, 1), title=f"第{i}课", idempotency_key=f"crash:{i}",
            )  # fmt: skip
            session.commit()
        print(f"committed {i}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
