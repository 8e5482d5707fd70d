"""Creating and reading accounts and teacher profiles."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role, TeacherProfile, User
from yanxiu.accounts.security import hash_password
from yanxiu.safe_text import check_plain


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: Role,
    password: str | None = None,
    password_hash: str | None = None,
    region_id: int | None = None,
    school_id: int | None = None,
) -> User:
    """Create a user; exactly one of ``password`` and ``password_hash`` is given."""
    if (password is None) == (password_hash is None):
        raise ValueError("give either password or password_hash")
    check_plain(username, field="username", label="用户名")
    check_plain(display_name, field="display_name", label="姓名")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValueError(f"username {username!r} is taken")
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=password_hash or hash_password(password or ""),
        region_id=region_id,
        school_id=school_id,
    )
    session.add(user)
    session.flush()
    return user


def create_teacher_profile(
    session: Session,
    *,
    user: User,
    stage: str,
    subjects: list[str],
    tier: str,
    years_teaching: int,
    posts: list[str],
    cycle_start: date,
    gender: str | None = None,
) -> TeacherProfile:
    profile = TeacherProfile(
        user_id=user.id, stage=stage, subjects=subjects, tier=tier, years_teaching=years_teaching,
        posts=posts, cycle_start=cycle_start, gender=gender,
    )  # fmt: skip
    session.add(profile)
    session.flush()
    return profile
