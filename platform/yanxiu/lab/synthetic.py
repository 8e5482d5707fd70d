"""A seeded generator of synthetic catalogs and teachers for benchmarks at 100k and beyond.

Items are valid catalog resources (they pass :class:`ResourceIn`), built by combining real
topic templates per category with stages, subjects and levels; prerequisites only point to
earlier items of the same topic, so the graph is a DAG by construction. Teachers get profiles
and completion histories drawn from the items that fit them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from yanxiu.catalog.schema import STAGES
from yanxiu.seed.demo import SUBJECT_WEIGHTS, TIER_WEIGHTS
from yanxiu.seed.names import GIVEN_FEMALE, GIVEN_MALE, SURNAMES

# category -> (topics, competency ids) — the vocabulary real resources use
TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "师德师风": (("职业行为准则", "依法执教", "关爱学生", "廉洁从教", "教育家精神"), ("ETH-NORM", "ETH-LAW", "ETH-CARE", "ETH-INTEG", "ETH-ROLE")),
    "学科教学": (("大单元教学设计", "新课标解读", "核心素养导向的课堂", "实验教学", "阅读教学", "跨学科主题学习"), ("SUB-STANDARD", "SUB-LITERACY", "PRC-UNIT", "SUB-EXPERIMENT", "SUB-READING", "PRC-KEY")),
    "信息技术应用能力": (("技术支持的学情分析", "微课程设计与制作", "演示文稿设计", "测验与练习", "人工智能教育应用"), ("IT-A1", "IT-B2", "IT-A3", "IT-A11", "IT-AI")),
    "心理健康教育": (("学生心理问题识别", "团体心理辅导", "心理危机干预", "教师压力管理"), ("PSY-AWARE", "PSY-COUNSEL", "PSY-CRISIS", "PSY-SELF")),
    "班主任工作": (("班级文化建设", "家校沟通", "主题班会设计", "校园安全与防欺凌"), ("HRT-MANAGE", "HRT-FAMILY", "HRT-ACTIVITY", "HRT-SAFETY")),
    "作业设计与双减": (("分层作业设计", "作业总量统筹", "实践性作业", "课后服务课程"), ("PRC-HOMEWORK", "PRC-DIFF")),
    "课堂提问与对话": (("问题链设计", "候答与追问", "对话式教学", "课堂反馈语言", "高阶思维提问"), ("PRC-QUES", "PRC-DIALOG", "PRC-FEEDBACK", "PRC-THINK", "PRC-ENGAGE")),
    "教研能力": (("课例研究", "观课议课", "校本小课题", "教研写作"), ("RES-LESSON", "RES-OBSERVE", "RES-ACTION", "RES-WRITE")),
    "新教师入职": (("教学常规", "课堂组织与管理", "师徒结对成长"), ("NEW-ROUTINE", "NEW-CLASSROOM", "NEW-MENTOR")),
}  # fmt: skip
LEVELS = ("入门", "进阶", "专题", "骨干研修")
FORMS = (("online", 2, 12), ("offline", 6, 24), ("hybrid", 12, 40))
PROVIDERS = (
    "省教育学院",
    "市教师发展中心",
    "县教师进修学校",
    "县教研室",
    "名师工作室",
    "师范大学继续教育学院",
)


def generate_resources(n: int, *, seed: int = 7) -> Iterator[dict[str, object]]:
    """Yield ``n`` catalog resources (dicts in the content schema), deterministically."""
    rng = random.Random(seed)
    categories = list(TOPICS)
    last_in_topic: dict[tuple[str, str, str], list[str]] = {}
    for i in range(n):
        category = categories[i % len(categories)]
        topics, comps = TOPICS[category]
        t = rng.randrange(len(topics))
        topic = topics[t]
        stage = rng.choice(STAGES[1:]) if rng.random() < 0.9 else STAGES[0]
        subject = "通用"
        if category == "学科教学":
            subject = rng.choice([s for s in SUBJECT_WEIGHTS[stage] if s != "通用"] or ["通用"])
        level = rng.choice(LEVELS)
        fmt, lo, hi = rng.choice(FORMS)
        code = f"SYN-{i:07d}"
        key = (category, topic, stage)
        earlier = last_in_topic.setdefault(key, [])
        prereqs = [rng.choice(earlier[-20:])] if earlier and rng.random() < 0.35 else []
        earlier.append(code)
        subject_label = "" if subject == "通用" else subject
        yield {
            "id": code,
            "title": f"{stage}{subject_label}{topic}（{level}·第{i % 97 + 1}讲）",
            "summary": f"面向{stage}{subject_label or ''}教师的{topic}{level}课程，结合真实课例讲解方法并布置实践任务。",
            "outline": [f"{topic}的核心概念", "典型课例分析", "实践任务与反思"],
            "category": category,
            "stages": [stage],
            "subjects": [subject],
            "levels": [],
            "posts": [],
            "hours": float(rng.randint(lo, hi)),
            "format": fmt,
            "prerequisites": prereqs,
            "competencies": sorted({comps[t % len(comps)], rng.choice(comps)}),
            "provider": rng.choice(PROVIDERS),
            "status": "published" if rng.random() < 0.97 else "retired",
        }


@dataclass
class SyntheticTeacher:
    id: int
    name: str
    stage: str
    subject: str
    tier: str
    years_teaching: int
    completed: list[str] = field(default_factory=list)


def generate_teachers(
    m: int, resources: list[dict[str, object]], *, seed: int = 11, history: int = 12
) -> list[SyntheticTeacher]:
    """``m`` teachers with up to ``history`` completed resources that fit their stage/subject."""
    rng = random.Random(seed)
    by_stage_subject: dict[tuple[str, str], list[str]] = {}
    for r in resources:
        for stage in r["stages"]:  # type: ignore[attr-defined]
            for subject in r["subjects"]:  # type: ignore[attr-defined]
                by_stage_subject.setdefault((stage, subject), []).append(str(r["id"]))
    teachers = []
    for i in range(m):
        stage = rng.choice(STAGES)
        weights = SUBJECT_WEIGHTS[stage]
        subject = rng.choices(list(weights), weights=list(weights.values()))[0]
        tier = rng.choices([t for t, _ in TIER_WEIGHTS], weights=[w for _, w in TIER_WEIGHTS])[0]
        female = rng.random() < 0.68
        name = rng.choice(SURNAMES) + rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
        pool = by_stage_subject.get((stage, "通用"), []) + by_stage_subject.get(
            (stage, subject), []
        )
        done = rng.sample(pool, min(len(pool), rng.randint(0, history)))
        teachers.append(
            SyntheticTeacher(i + 1, name, stage, subject, tier, rng.randint(0, 30), done)
        )
    return teachers
