"""Demo practice records: transcripts and lesson plans submitted, scored and (some) reviewed.

The records come from the content's case transcripts and weak lesson plans (content/cases), and
one 思想政治 transcript written here for t001, each submitted by a demo teacher whose stage and
subject fit, and reviewed by the trainer of the teacher's county. The mix lets every journey
be shown at once: trainer.linjiang's queue holds pending drafts and one contested diagnosis,
teachers see accepted, edited and rejected outcomes, and t001 (白石县, trainer.baishi) has a
reviewed diagnosis to open.

Everything goes through the product's own services (submit_record, review_diagnosis,
contest_diagnosis), so the audit trail and the teacher vectors follow the same rules. Seeding is
deterministic (teachers picked by username, dates from the roster's ``demo_today``) and
idempotent: a record already stored for the same teacher and content is skipped.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Region, Role, TeacherProfile, User
from yanxiu.content import Content
from yanxiu.practice.draft import Report, ReportEdit, Suggestion, score_values
from yanxiu.practice.models import PracticeRecord, RecordKind, ReviewDecision
from yanxiu.practice.review import contest_diagnosis, plan_review, review_diagnosis
from yanxiu.practice.service import submit_record, tagged_resource_finder

Outcome = Literal["pending", "accepted", "edited", "rejected", "contested"]

POLITICS_TRANSCRIPT = """\
[00:08:05] 师：上节课我们学习了我国的基本经济制度。今天我们围绕一个议题展开：“共同富裕是不是平均主义？”先请大家看屏幕上的两组数据，一组是近十年居民人均可支配收入的变化，一组是城乡居民收入比。你从数据里读出了什么信息？
[00:08:40] 生A：收入一直在增长，十年差不多翻了一番。
[00:08:47] 师：好，请坐。还有吗？
[00:08:52] 生B：城乡收入比在缩小，从二点八几降到二点三几了。
[00:09:01] 师：对。城乡差距在缩小，但是差距依然存在。这就说明我们既要把“蛋糕”做大，也要把“蛋糕”分好。那么“分好蛋糕”靠什么？就是我们今天要学的收入分配制度。
[00:09:25] 师：我国实行按劳分配为主体、多种分配方式并存的分配制度。大家把这句话画下来，这是重点，考试经常考。按劳分配的前提是生产资料公有制，多种分配方式包括按资本要素分配、按土地要素分配、按数据要素分配等等。
[00:10:42] 师：下面请大家看教材第四十四页的探究与分享，同桌两人讨论：某同学的父亲在国企上班，母亲开网店，家里还有一套房子出租，他们家的收入分别属于哪种分配方式？给大家两分钟。
[00:10:55] 众生：（同桌讨论）
[00:12:58] 师：好，时间到。哪一组来说说？
[00:13:03] 生C：爸爸在国企的工资是按劳分配；妈妈开网店的收入是个体劳动者的劳动收入，也算按劳动要素分配；房租是按土地……不对，是按资本要素分配。
[00:13:24] 师：房租应该是什么？有没有同学补充？
[00:13:30] 生D：我觉得房租属于财产性收入，是按生产要素分配里的……应该算按资本要素分配吧，因为房子是家里的财产。
[00:13:45] 师：嗯，说得有道理。财产性收入我们后面会专门讲。好，坐下。我们回到议题：既然有多种分配方式，收入肯定有高有低，那共同富裕是不是要让大家的收入都一样？
[00:14:05] 众生：不是。
[00:14:07] 师：为什么不是？
[00:14:12] 生E：因为如果收入都一样，大家就没有积极性了，以前吃大锅饭就是这样。
[00:14:22] 师：很好。共同富裕不是同等富裕，更不是平均主义，是在高质量发展中逐步实现的。那怎样缩小收入差距呢？这就要靠再分配和第三次分配。再分配主要通过税收、社会保障、转移支付来调节，第三次分配主要是慈善捐赠等公益事业。大家记一下。
[00:15:40] 师：我们来看一个例子：个人所得税的起征点提高到每月五千元，还有子女教育、赡养老人等专项附加扣除。这体现了再分配的什么作用？
[00:15:58] 生F：调节收入差距，减轻中低收入者的负担。
[00:16:04] 师：对。再分配更加注重公平。好，下面请大家思考：如果你是一名人大代表，围绕“促进共同富裕”你会提出什么建议？写在学案上，下节课我们交流。
[00:16:30] 师：最后我们小结一下：我国的分配制度是按劳分配为主体、多种分配方式并存；初次分配、再分配、第三次分配协调配套；共同富裕不是平均主义。大家记住了吗？
[00:16:45] 众生：记住了。
"""


# t112's own 行程问题 lesson (a mixed lesson: line diagrams drawn by the students, some probing,
# still much teacher explanation), so that trainer.linjiang can set it beside t047's lecture of
# the same topic (同课异构, CASE-001) and t112 can compare it with her later group-work lesson.
JOURNEY_TRANSCRIPT = """\
【导入】
[00:00:10] 师：上节课我们用方程解决了配套问题。今天看行程问题。先请大家回忆：路程、速度、时间之间有什么关系？
[00:00:24] 生A：路程等于速度乘时间。
[00:00:29] 师：还能怎么说？
[00:00:33] 生B：速度等于路程除以时间，时间等于路程除以速度。
[00:00:40] 师：好，三个量知二求一。今天的问题里，两个物体一起动起来，关系会复杂一些。
【新授】
[00:01:02] 师：看例题：甲乙两地相距三百六十千米，慢车从甲地出发每小时四十八千米，快车从乙地出发每小时七十二千米，两车同时相向而行，几小时相遇？先别急着列方程，同桌两人画一画线段图，想一想相遇的时候两车的路程有什么关系。
[00:01:30] 众生：（同桌画线段图）
[00:04:05] 师：哪一组愿意上来画给大家看？刘洋，你们组来。
[00:04:12] 生C：我们画了一条线段表示全程三百六十，慢车从左边走，快车从右边走，在中间碰到。慢车走的加快车走的就是全程。
[00:04:35] 师：你们是怎么确定“加起来等于全程”的？
[00:04:41] 生C：因为相遇的时候两段正好把整条线段拼满了，中间没有空，也没有重叠。
[00:04:55] 师：“拼满、没有空、没有重叠”，说得很清楚。那设经过x小时相遇，方程怎么列？
[00:05:08] 生D：四十八x加七十二x等于三百六十。
[00:05:15] 师：解出来是多少？
[00:05:18] 众生：三。
[00:05:20] 师：对，三小时。我们再变一下：如果慢车先开一小时，快车再出发，线段图要怎么改？先想一分钟。
[00:05:35] 众生：（独立思考）
[00:06:40] 生E：要在慢车那边先画一小段，是先走的四十八千米，剩下的才是两车一起走的。
[00:06:55] 生F：我有不同意见，我觉得x应该设成慢车走的时间。
[00:07:03] 师：两种设法都可以，你们俩各自列一下方程，看看结果是不是一样。
[00:08:20] 生F：我设慢车走x小时，四十八x加七十二（x减一）等于三百六十，x等于三点六，快车就是二点六小时，和他的一样。
[00:08:38] 师：设的未知数不同，方程不同，但答案一致，说明两种思路都对。大家注意，列方程之前先想清楚“谁的时间是x”。这里我要强调一下，解应用题一定要写“设”和“答”，单位要写清楚。
【练习】
[00:09:30] 师：下面做课本第一百零二页练习第一题和第二题，三分钟。
[00:09:40] 众生：（独立练习）
[00:12:45] 师：第二题谁来说？
[00:12:50] 生G：我列的是九十x等于六十x加三十。
[00:12:58] 师：三十是什么单位？
[00:13:02] 生G：哦，是分钟，要化成零点五小时。
[00:13:08] 师：对，单位要统一。这是最常见的错误。
【小结】
[00:13:30] 师：今天我们学了什么？谁来说说？
[00:13:36] 生H：相遇问题是两车路程的和等于全程，画线段图能帮我们找等量关系。
[00:13:50] 师：总结得好。追及问题我们下节课接着研究。
"""


@dataclass(frozen=True)
class DemoRecord:
    """One demo record: which content, whose (county, or a named teacher), and what happened."""

    case: str  # a content case id, or "politics" for POLITICS_TRANSCRIPT
    county: str  # roster county code
    outcome: Outcome
    days_ago: int
    teacher: str = ""  # a username; empty: the first fitting teacher in the county
    edits: dict[str, int] = field(default_factory=dict)  # dimension -> score change (edited)
    comment: str = ""
    contest: str = ""
    advice: tuple[tuple[str, str], ...] = ()  # (dimension, the trainer's added suggestion)


DEMO_RECORDS: tuple[DemoRecord, ...] = (
    DemoRecord("CASE-001", "GX0101", "contested", 16, edits={"反馈评价": -2},
               comment="学生回答后多为“对”“坐下”，没有追问和展开，反馈评价应降为 3 分；提问以封闭式为主，建议先学习提问设计课程。",
               contest="这节课是行程问题的复习课，前面 10 分钟学生已经分组讨论过线段图，实录只截取了后半段讲评，学生参与的评分偏低。"),
    DemoRecord("CASE-002", "GX0101", "pending", 3),
    DemoRecord("CASE-003", "GX0101", "accepted", 12, comment="分析客观，证据充分。注意在勾股定理的验证环节多给学生说理的机会。"),
    DemoRecord("CASE-006", "GX0101", "pending", 2),
    DemoRecord("CASE-009", "GX0101", "accepted", 10, comment="同意 AI 分析。课尾的小结可以请学生自己来说。"),
    DemoRecord("CASE-010", "GX0101", "pending", 5),
    DemoRecord("CASE-014", "GX0101", "edited", 9, edits={"教学重难点": -1},
               comment="重难点只写了一句，没有说明突破策略，降为 2 分；学情分析缺失是最主要的问题。"),
    DemoRecord("CASE-017", "GX0101", "pending", 4),
    DemoRecord("CASE-019", "GX0101", "rejected", 8,
               comment="实录只截取了关系代词讲解的 8 分钟，无法代表整节课的教学方式，AI 对学生参与的判断不可靠。请上传完整课堂实录后重新提交。"),
    DemoRecord("CASE-026", "GX0101", "pending", 1),
    DemoRecord("CASE-030", "GX0101", "pending", 6),
    DemoRecord("politics", "GX0102", "edited", 11, teacher="t001", edits={"反馈评价": -2, "思维深度": 1},
               comment="议题有思辨性，“人大代表建议”任务能引发高阶思考，思维深度上调 1 分；但学生回答后多以“好，请坐”“很好”收尾，没有追问理由、没有让同伴评价，反馈评价下调为 2 分。",
               advice=(("反馈评价", "学生回答后先别急着说“很好，请坐”：用“你是从哪里看出来的？”“他说的有没有需要补充的？”把回答再往前推一步；对房租属于哪种分配方式这类有争议的回答，可以请全班判断并说明理由，再由教师归纳。"),)),
    DemoRecord("CASE-034", "GX0102", "pending", 2),
    # t112 (the demo teacher) has two reviewed lessons to compare and a trend to read: a
    # 行程问题 lesson before the 课堂提问 training and a group-work lesson after it
    DemoRecord("journey", "GX0101", "accepted", 30, teacher="t112",
               comment="学生画线段图、说理由的环节很好；练习讲评仍以教师判断为主，可以让学生互评。"),
    DemoRecord("CASE-004", "GX0101", "edited", 7, teacher="t112", edits={"教学目标达成": -1},
               comment="小组探究和互评组织得好，反馈具体；课尾缺少全班的检测，目标达成下调 1 分。"),
)  # fmt: skip


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=UTC)


def _record_title(title: str) -> str:
    return re.sub(r"（待改进样例）", "", title).strip()


def _filename(title: str, kind: str) -> str:
    stem = re.sub(r"[《》“”\"/\\:：?？*<>|]", "", title)[:60]
    return f"{stem}.{'txt' if kind == 'transcript' else 'md'}"


def _with_advice(report: Report, advice: tuple[tuple[str, str], ...]) -> ReportEdit | None:
    """The draft's suggestions plus the trainer's own, as a report edit (None: no change)."""
    if not advice:
        return None
    added = [Suggestion(dimension=dim, text=text, by_trainer=True) for dim, text in advice]
    return ReportEdit(suggestions=[*report.suggestions, *added])


def _pick_teacher(
    session: Session, county_id: int, stage: str, subject: str, used: set[int]
) -> User | None:
    """The first teacher (by username) in the county who teaches this stage and subject."""
    rows = session.execute(
        select(User, TeacherProfile)
        .join(TeacherProfile, TeacherProfile.user_id == User.id)
        .where(User.role == Role.TEACHER, User.region_id == county_id)
        .order_by(User.username)
    ).all()
    for user, profile in rows:
        if user.id in used or profile.stage != stage:
            continue
        fits = "班主任" in profile.posts if subject == "通用" else subject in profile.subjects
        if fits:
            return user
    return None


def seed_practice_demo(session: Session, content: Content) -> int:
    """Seed the demo practice records (once); returns how many records were created."""
    today: date = content.roster["demo_today"]
    cases = {c.id: c for c in content.cases}
    counties = {r.code: r for r in session.scalars(select(Region))}
    used: set[int] = set()
    created = 0
    for spec in DEMO_RECORDS:
        county = counties.get(spec.county)
        if county is None:
            continue
        if spec.case == "politics":
            kind, title, body = (
                "transcript",
                "《我国的个人收入分配》议题式教学片段",
                POLITICS_TRANSCRIPT,
            )
            stage, subject = "高中", "思想政治"
        elif spec.case == "journey":
            kind, title = "transcript", "《一元一次方程的应用——行程问题》课堂实录片段"
            body, stage, subject = JOURNEY_TRANSCRIPT, "初中", "数学"
        else:
            case = cases[spec.case]
            kind, title, body = case.kind, _record_title(case.title), case.body
            stage, subject = case.stage, case.subject
        if spec.teacher:
            teacher = session.scalar(select(User).where(User.username == spec.teacher))
        else:
            teacher = _pick_teacher(session, county.id, stage, subject, used)
        if teacher is None:
            continue
        used.add(teacher.id)
        data = body.encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()
        exists = session.scalar(
            select(PracticeRecord.id).where(
                PracticeRecord.teacher_id == teacher.id, PracticeRecord.sha256 == digest
            )
        )
        if exists is not None:
            continue
        profile = session.get(TeacherProfile, teacher.id)
        record, diagnosis = submit_record(
            session, teacher_id=teacher.id, kind=RecordKind(kind), data=data,
            filename=_filename(title, kind), title=title, stage=profile.stage if profile else stage,
            subject=subject, find_resources=tagged_resource_finder(session, subject=subject),
        )  # fmt: skip
        # submitted in the evening, Beijing time (19–21 h = 11–13 h UTC)
        submitted = _at(today - timedelta(days=spec.days_ago), 11 + spec.days_ago % 3)
        record.created_at = diagnosis.created_at = submitted
        created += 1
        if spec.outcome == "pending":
            continue
        reviewer = session.scalar(
            select(User)
            .where(User.role == Role.TRAINER, User.region_id == county.id)
            .order_by(User.username)
        )
        if reviewer is None:
            continue
        decision = {
            "accepted": ReviewDecision.ACCEPT,
            "rejected": ReviewDecision.REJECT,
        }.get(spec.outcome, ReviewDecision.EDIT)
        scores = None
        report = _with_advice(diagnosis.report, spec.advice)
        if decision == ReviewDecision.EDIT:
            ai = score_values(diagnosis.scores)
            scores = {}
            for dim, change in spec.edits.items():
                new = min(5, max(1, ai[dim] + change))
                scores[dim] = new if new != ai[dim] else (ai[dim] - 1 if ai[dim] > 1 else 2)
            # as the review form does: strengths and summary follow the trainer's scores
            _, _, rebuilt = plan_review(diagnosis, "edit", {**ai, **scores}, None, None)
            if rebuilt is not None:
                report = rebuilt if report is None else report.then(rebuilt)
        review_diagnosis(
            session, diagnosis_id=diagnosis.id, reviewer=reviewer, decision=decision,
            scores=scores, comment=spec.comment, report=report,
            find_resources=tagged_resource_finder(session, subject=subject),
        )  # fmt: skip
        if spec.outcome == "contested":  # reviews are append-only: they keep the seeding time
            contest_diagnosis(
                session, diagnosis_id=diagnosis.id, teacher=teacher, comment=spec.contest
            )
    session.flush()
    return created
