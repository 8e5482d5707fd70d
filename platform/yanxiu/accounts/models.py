"""Tables for who uses Yanxiu and where they work."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from yanxiu.db.base import Base, str_enum, utcnow


class RegionLevel(enum.StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"


class Role(enum.StrEnum):
    TEACHER = "teacher"
    HOST = "host"  # 名师工作室主持人
    TRAINER = "trainer"  # 培训者/教研员
    ADMIN = "admin"  # 教师发展中心管理员


class SchoolLocation(enum.StrEnum):
    URBAN = "urban"  # 城区
    TOWN = "town"  # 镇区
    RURAL = "rural"  # 乡村


class Region(Base):
    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[RegionLevel] = mapped_column(str_enum(RegionLevel))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    policy_code: Mapped[str | None] = mapped_column(String(16))

    parent: Mapped[Region | None] = relationship(remote_side=[id])


class School(Base):
    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    county_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    stages: Mapped[list] = mapped_column(default=list)  # 小学 / 初中 / 高中 / 幼儿园
    location: Mapped[SchoolLocation] = mapped_column(str_enum(SchoolLocation))
    is_weak: Mapped[bool] = mapped_column(Boolean, default=False)  # 薄弱校
    kind: Mapped[str | None] = mapped_column(String(16))  # 学校类型: 小学, 九年一贯制学校 …

    county: Mapped[Region] = relationship()

    @property
    def is_rural(self) -> bool:
        return self.location == SchoolLocation.RURAL


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role), index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # 工号/教师编号: the key a roster import updates by (None for staff created by hand)
    staff_no: Mapped[str | None] = mapped_column(String(32), unique=True)
    # shown masked everywhere (PIPL: minimum necessary); never a national ID number
    phone: Mapped[str | None] = mapped_column(String(20))
    # 在职 / 调出 / 离职 from the roster (why an imported teacher is inactive)
    employment: Mapped[str | None] = mapped_column(String(8))
    # an initial or reset password: every page leads to /account/password until it is changed
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # bumped on every password change or reset: sessions started before it end
    password_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    region: Mapped[Region | None] = relationship()
    school: Mapped[School | None] = relationship()
    profile: Mapped[TeacherProfile | None] = relationship(back_populates="user", uselist=False)


class TeacherProfile(Base):
    __tablename__ = "teacher_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    stage: Mapped[str] = mapped_column(String(16))
    subjects: Mapped[list] = mapped_column(default=list)
    tier: Mapped[str] = mapped_column(String(16))  # 三级三类: labels come from the policy
    years_teaching: Mapped[int] = mapped_column(Integer, default=0)
    posts: Mapped[list] = mapped_column(default=list)  # 班主任, 教研组长 …
    gender: Mapped[str | None] = mapped_column(String(4))
    cycle_start: Mapped[date] = mapped_column(Date)
    hired_on: Mapped[date | None] = mapped_column(Date)  # 入职日期
    title: Mapped[str | None] = mapped_column(String(16))  # 职称: 二级教师, 一级教师 …
    bio: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship(back_populates="profile")
