"""Roster import benchmark: a synthetic roster of N teachers into a fresh SQLite database.

``yanxiu bench import --rows 10000`` builds a county with 60 schools, writes an XLSX roster of
``rows`` teachers (realistic columns, phone numbers, a few leavers) and times, on the same
database: a dry run, the import, and the same file again (which must change nothing).
"""

from __future__ import annotations

import random
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from yanxiu.accounts.models import Region, RegionLevel, School, SchoolLocation
from yanxiu.accounts.roster import TEMPLATE_HEADER, RosterRules
from yanxiu.accounts.roster_job import RosterOutcome, run_roster_import
from yanxiu.db import make_engine, make_session_factory, migrate, session_scope
from yanxiu.spreadsheet import xlsx_bytes

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建文晶亮宁梅琳颖雪慧倩婷莉燕凤洁琴云莲真环"
SUBJECTS = {"小学": ["语文", "数学", "英语", "科学", "道德与法治", "音乐", "体育", "美术"],
            "初中": ["语文", "数学", "英语", "物理", "化学", "生物", "历史", "地理", "道德与法治"],
            "高中": ["语文", "数学", "英语", "物理", "化学", "生物", "历史", "地理", "思想政治"]}  # fmt: skip


def make_county(session, schools: int = 60) -> list[tuple[str, str]]:
    """A city and a county with ``schools`` schools; returns (school name, stage)."""
    city = Region(code="BX01", name="北溪市", level=RegionLevel.CITY, policy_code="GX")
    session.add(city)
    session.flush()
    county = Region(code="BX0101", name="北溪市南山县", level=RegionLevel.COUNTY, parent_id=city.id)
    session.add(county)
    session.flush()
    out = []
    for i in range(schools):
        stage = ("小学", "初中", "高中")[i % 3]
        name = f"南山县第{i + 1}{'小学' if stage == '小学' else '中学'}"
        session.add(School(code=f"NS-{i + 1:03d}", name=name, county_id=county.id, stages=[stage],
                           location=list(SchoolLocation)[i % 3], is_weak=i % 7 == 0))  # fmt: skip
        out.append((name, stage))
    session.flush()
    return out


def synthetic_roster(
    rows: int, schools: list[tuple[str, str]], *, seed: int = 17
) -> list[list[str]]:
    """``rows`` roster rows (工号 T000001 …) over ``schools``; about 1 % have left."""
    rng = random.Random(seed)
    out = []
    for n in range(1, rows + 1):
        school, stage = schools[rng.randrange(len(schools))]
        subjects = rng.sample(SUBJECTS[stage], 2 if rng.random() < 0.2 else 1)
        hired = date(rng.randint(1990, 2025), rng.randint(1, 12), rng.randint(1, 28))
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
        out.append([f"T{n:06d}", name, rng.choice("男女"), school, stage, "、".join(subjects),
                    "班主任" if rng.random() < 0.3 else "", "", rng.choice(["二级教师", "一级教师", "高级教师"]),
                    hired.isoformat(), f"1{rng.randint(3, 9)}{rng.randint(0, 999999999):09d}",
                    "离职" if rng.random() < 0.01 else "在职"])  # fmt: skip
    return out


class _Quiet:
    def set_total(self, total: int) -> None: ...
    def advance(self, steps: int = 1, message: str | None = None) -> None: ...


@dataclass
class RosterBench:
    rows: int
    build_s: float
    dry_run_s: float
    import_s: float
    reimport_s: float
    created: int
    reimport_changes: int
    xlsx_bytes: int


def bench_roster_import(rows: int = 10_000, folder: Path | None = None) -> RosterBench:
    with tempfile.TemporaryDirectory() as tmp:
        where = folder or Path(tmp)
        engine = make_engine(f"sqlite:///{where / 'bench.db'}")
        migrate.upgrade(engine)
        factory = make_session_factory(engine)
        with session_scope(factory) as session:
            schools = make_county(session)
        start = time.perf_counter()
        data = xlsx_bytes(TEMPLATE_HEADER, synthetic_roster(rows, schools))
        build = time.perf_counter() - start
        rules = RosterRules(tiers=("新任教师", "合格教师", "骨干教师", "学科带头人", "名师"),
                            induction_tier="新任教师", cycle_start=date(2024, 9, 1), today=date.today())  # fmt: skip
        times, outcomes = [], []
        for dry in (True, False, False):
            outcome = RosterOutcome(filename="roster.xlsx", dry_run=dry)
            start = time.perf_counter()
            run_roster_import(_Quiet(), factory=factory, data=data, outcome=outcome, rules=rules,
                              actor_id=None, scope=None, initial_password="Qingchuan-2026")  # fmt: skip
            times.append(time.perf_counter() - start)
            outcomes.append(outcome)
        engine.dispose()
    again = outcomes[2].counts
    return RosterBench(rows, build, times[0], times[1], times[2], outcomes[1].counts["create"],
                       sum(v for k, v in again.items() if k not in ("unchanged", "skip")), len(data))  # fmt: skip
