"""Imports every feature's tables so that ``Base.metadata`` is complete (Alembic, tests)."""

from yanxiu import jobqueue  # noqa: F401  (the jobs table)
from yanxiu.accounts import auth_models  # noqa: F401
from yanxiu.accounts import models as accounts_models  # noqa: F401
from yanxiu.audit import models as audit_models  # noqa: F401
from yanxiu.catalog import models as catalog_models  # noqa: F401
from yanxiu.credits import claim_models  # noqa: F401
from yanxiu.credits import models as credits_models  # noqa: F401
from yanxiu.db import change_counters, meta  # noqa: F401
from yanxiu.db.base import Base
from yanxiu.learning import models as learning_models  # noqa: F401
from yanxiu.notifications import models as notifications_models  # noqa: F401
from yanxiu.practice import models as practice_models  # noqa: F401
from yanxiu.programs import models as programs_models  # noqa: F401
from yanxiu.reports import models as reports_models  # noqa: F401
from yanxiu.search import models as search_models  # noqa: F401
from yanxiu.studios import models as studios_models  # noqa: F401

metadata = Base.metadata
