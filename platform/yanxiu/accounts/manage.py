"""Managing accounts: staff created by admins, password changes and resets, (de)activation.

Every change is audited. An account made by someone else (an admin, an import, the command
line's one-time password) starts with ``must_change_password``: the web layer sends its owner to
``/account/password`` until they choose their own. A change or reset bumps
``password_version``, which ends every session started before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Region, RegionLevel, Role, School, User
from yanxiu.accounts.passwords import check_password, one_time_password
from yanxiu.accounts.scope import Scope
from yanxiu.accounts.security import hash_password, verify_password
from yanxiu.audit.service import record_audit
from yanxiu.errors import Conflict, Invalid, NotAllowed, NotFound

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")
STAFF_ROLES = (Role.TRAINER, Role.HOST, Role.ADMIN)
ROLE_NAMES = {
    Role.TEACHER: "教师",
    Role.HOST: "工作室主持人",
    Role.TRAINER: "培训者",
    Role.ADMIN: "管理员",
}


@dataclass(frozen=True)
class NewAccount:
    user_id: int
    username: str
    password: str | None  # the one-time password to hand over (None if the person chose it)


def check_username(session: Session, username: str) -> str:
    username = username.strip()
    if not USERNAME.match(username):
        raise Invalid(
            "用户名须为 3–64 位字母、数字、点、下划线或连字符，并以字母或数字开头。",
            fields={"username": "用户名格式不正确"},
        )
    taken = session.scalar(select(User.id).where(func.lower(User.username) == username.lower()))
    if taken is not None:
        raise Conflict(f"用户名“{username}”已被使用，请换一个。", fields={"username": "已被使用"})
    return username


def create_account(
    session: Session,
    *,
    actor_id: int | None,
    scope: Scope | None,
    username: str,
    display_name: str,
    role: Role,
    region_id: int | None,
    school_id: int | None = None,
    password: str | None = None,
    must_change: bool = True,
) -> NewAccount:
    """A staff account (or any role, from the command line where ``scope`` is None).

    Without ``password`` a one-time one is generated and returned; with one, it must follow
    the rules. An admin may give accounts only within their own region.
    """
    if scope is not None and role not in STAFF_ROLES:
        raise Invalid("这里只能创建培训者、工作室主持人和管理员账号；教师请通过名册导入。",
                      fields={"role": "角色不正确"})  # fmt: skip
    username = check_username(session, username)
    display_name = display_name.strip() or username
    if len(display_name) > 64:
        raise Invalid("姓名最多 64 个字。", fields={"display_name": "太长"})
    if region_id is None and school_id is None:
        raise Invalid(
            "请为账号选择所属区域（决定其能看到哪些教师）。", fields={"region_id": "必选"}
        )
    if region_id is not None:
        if session.get(Region, region_id) is None:
            raise Invalid("所选区域不存在。", fields={"region_id": "不存在"})
        if scope is not None and not scope.covers_region(region_id):
            raise NotAllowed("只能为本辖区内的区域创建账号。")
    if school_id is not None:
        school = session.get(School, school_id)
        if school is None or (scope is not None and not scope.covers_region(school.county_id)):
            raise Invalid("所选学校不存在或不在本辖区内。", fields={"school_id": "不可用"})
    generated = password is None
    if password is None:
        password = one_time_password()
    else:
        check_password(password, username=username)
    user = User(
        username=username, display_name=display_name, role=role, region_id=region_id,
        school_id=school_id, password_hash=hash_password(password),
        must_change_password=must_change or generated,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:  # someone took the name a moment ago
        raise Conflict(
            f"用户名“{username}”已被使用，请换一个。", fields={"username": "已被使用"}
        ) from None
    record_audit(session, actor_id=actor_id, action="account.create", entity="user",
                 entity_id=user.id, detail={"username": username, "role": role.value,
                                            "region_id": region_id, "school_id": school_id})  # fmt: skip
    return NewAccount(user.id, username, password if generated else None)


def _managed(session: Session, scope: Scope, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("没有这个账号。")
    if not scope.can_read_user(session, user):
        raise NotAllowed("无权访问：该账号不在您的辖区内。")
    return user


def reset_password(session: Session, *, actor_id: int, scope: Scope, user_id: int) -> NewAccount:
    """A new one-time password for someone in scope (returned once; they must change it)."""
    user = _managed(session, scope, user_id)
    if user.id == actor_id:
        raise Invalid("不能重置自己的密码，请在“修改密码”页面修改。")
    password = one_time_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.password_version = (user.password_version or 0) + 1  # their open sessions end
    record_audit(session, actor_id=actor_id, action="account.reset_password", entity="user",
                 entity_id=user.id, detail={"username": user.username})  # fmt: skip
    return NewAccount(user.id, user.username, password)


def set_active(
    session: Session, *, actor_id: int, scope: Scope, user_id: int, active: bool
) -> User:
    """Deactivate (they cannot log in; open sessions end at once) or reactivate an account."""
    user = _managed(session, scope, user_id)
    if user.id == actor_id and not active:
        raise Invalid("不能停用自己的账号。")
    if user.is_active != active:
        user.is_active = active
        if active and user.employment in ("调出", "离职"):
            user.employment = "在职"
        record_audit(session, actor_id=actor_id,
                     action="account.reactivate" if active else "account.deactivate",
                     entity="user", entity_id=user.id, detail={"username": user.username})  # fmt: skip
    return user


def change_password(
    session: Session, *, user_id: int, current: str, new: str, confirm: str
) -> User:
    """The person's own change: the current password, then a new one that follows the rules."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFound("没有这个账号。")
    if not verify_password(current, user.password_hash):
        raise Invalid("当前密码不正确。", fields={"current": "当前密码不正确"})
    if new != confirm:
        raise Invalid("两次输入的新密码不一致。", fields={"confirm": "与新密码不一致"})
    if new == current:
        raise Invalid("新密码不能与当前密码相同。", fields={"password": "与当前密码相同"})
    check_password(new, username=user.username)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_version = (user.password_version or 0) + 1
    record_audit(session, actor_id=user.id, action="account.change_password", entity="user",
                 entity_id=user.id)  # fmt: skip
    return user


@dataclass(frozen=True)
class AccountRow:
    id: int
    username: str
    display_name: str
    role: Role
    role_label: str
    region: str
    is_active: bool
    must_change: bool


def staff_accounts(session: Session, scope: Scope) -> list[AccountRow]:
    """Staff accounts (trainers, hosts, admins) this admin sees, by role then name."""
    names = dict(session.execute(select(Region.id, Region.name)).all())
    query = scope.filter(select(User).where(User.role.in_(STAFF_ROLES)))
    users = sorted(session.scalars(query), key=lambda u: (STAFF_ROLES.index(u.role), u.username))
    return [
        AccountRow(
            u.id,
            u.username,
            u.display_name,
            u.role,
            ROLE_NAMES[u.role],
            names.get(u.region_id, "—") if u.region_id else "—",
            u.is_active,
            u.must_change_password,
        )  # fmt: skip
        for u in users
    ]


def regions_in_scope(session: Session, scope: Scope) -> list[tuple[int, str]]:
    """(id, indented name) of the regions an admin may give an account, tree order."""
    regions = [
        r
        for r in session.scalars(select(Region).order_by(Region.code))
        if scope.covers_region(r.id)
    ]
    depth = {RegionLevel.PROVINCE: 0, RegionLevel.CITY: 1, RegionLevel.COUNTY: 2}
    return [(r.id, "　" * depth[r.level] + r.name) for r in regions]
