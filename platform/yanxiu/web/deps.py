"""Route dependencies: the services, a database session, the logged-in user and their scope.

A route declares what it needs by type::

    @router.get("/review")
    def review_index(request: Request, me: ReviewerUser, scope: ScopeDep, db: SessionDep,
                     services: ServicesDep) -> Response: ...

``SessionDep`` is one unit of work per request, committed before the response is sent (a
redirect never reaches the browser before its commit). ``ScopeDep`` is the logged-in user's
:class:`~yanxiu.accounts.scope.Scope`, the one rule of who may see whom.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role
from yanxiu.accounts.scope import Scope
from yanxiu.db import session_scope
from yanxiu.services import Services
from yanxiu.web.auth import AuthUser, current_user, require_role


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_db(request: Request, services: ServicesDep) -> Iterator[Session]:
    """One unit of work per request: commit on success, roll back on error.

    The page's navigation badges read through the same session (``request.state.db``): a
    second connection per page would let a busy worker's threads each hold one connection
    while waiting for another, until the pool times out."""
    with session_scope(services.session_factory) as session:
        request.state.db = session
        try:
            yield session
        finally:
            request.state.db = None


# scope="function": FastAPI closes the session (commits) before sending the response.
SessionDep = Annotated[Session, Depends(get_db, scope="function")]

CurrentUser = Annotated[AuthUser, Depends(current_user)]
TeacherUser = Annotated[AuthUser, Depends(require_role(Role.TEACHER))]
HostUser = Annotated[AuthUser, Depends(require_role(Role.HOST))]
TrainerUser = Annotated[AuthUser, Depends(require_role(Role.TRAINER))]
AdminUser = Annotated[AuthUser, Depends(require_role(Role.ADMIN))]
ReviewerUser = Annotated[AuthUser, Depends(require_role(Role.TRAINER, Role.ADMIN))]
StaffUser = Annotated[AuthUser, Depends(require_role(Role.HOST, Role.TRAINER, Role.ADMIN))]
# Teachers read studios and the cases open to them; hosts read their own studios' cases.
StudioReader = Annotated[AuthUser, Depends(require_role(Role.TEACHER, Role.HOST))]
PathReader = Annotated[AuthUser, Depends(require_role(Role.TEACHER, Role.TRAINER, Role.ADMIN))]


def get_scope(user: CurrentUser, session: SessionDep) -> Scope:
    return Scope.for_user(session, user)


ScopeDep = Annotated[Scope, Depends(get_scope)]
