"""Issue 20: genuine questions, feedback judged by content, semantic uptake, checks that are not
homework, a truthful timeline, subject awareness and growth advice (rule codes, no model)."""

from __future__ import annotations

from yanxiu.practice.diagnosis import diagnose_transcript
from yanxiu.practice.lesson_metrics import st_analysis, untranscribed_gaps
from yanxiu.practice.parse import parse_transcript
from yanxiu.practice.responses import closing_checks, question_kinds, responses
from yanxiu.practice.talk_codes import code_turns


def utts(text: str):
    return parse_transcript(text.encode("utf-8"), "t.txt")


def test_self_answered_and_unanswered_questions_are_not_questions():
    us = utts(
        "[00:00:00] 师：为什么两车的路程加起来是全程？因为它们从两端出发相向而行，最后在中间相遇。\n"
        "[00:00:20] 师：你们说是不是？我们接着看例题。\n"
        "[00:00:40] 师：谁来说说你的想法？\n"
        "[00:00:45] 生A：我觉得要先画线段图，因为这样能看清楚路程的关系。\n"
        "[00:01:00] 师：对不对？\n[00:01:02] 众生：对。\n"
    )
    kinds = question_kinds(us, code_turns(us, coder=None))
    assert kinds == {0: "self-answered", 1: "unanswered", 2: "genuine", 4: "chorus"}


def test_feedback_is_judged_by_content_not_length():
    us = utts(
        "[00:00:00] 师：这个词为什么用得好？\n"
        "[00:00:05] 生A：因为“攀”写出了父亲爬月台的吃力，我觉得很感人。\n"
        "[00:00:15] 师：对，坐下。我们接着往下读第七段，第七段写的是父亲回来的情景，大家看书。\n"
        "[00:01:00] 生B：我认为“缩”也写出了父亲的艰难，因为他身体胖。\n"
        "[00:01:10] 师：你说“缩”也写出了父亲的艰难，能再说说从哪里看出他胖吗？\n"
    )
    judged = responses(us, embed=None)
    assert [r.kind for r in judged] == ["generic", "probe"]
    assert judged[1].uptake and "00:01:00" in judged[1].quote and "缩" in judged[1].quote


def test_homework_is_not_an_in_class_check():
    us = utts(
        "师：今天讲分数的意义。\n师：分数表示把一个整体平均分成几份。\n师：大家记住了吗？\n众生：记住了。\n"
        "师：课后作业：完成练习册第三页，明天检测。\n"
    )
    found = closing_checks(us, question_kinds(us, code_turns(us, coder=None)))
    assert found.items == []


PRACTICE = (
    "[00:00:05] 师：请大家独立完成学习单上的六道题。\n"
    "[00:08:00] 师：停笔，我们来对答案。第一题谁来说？\n"
    "[00:08:06] 生A：第一题 x 等于 4，先去括号再移项。\n"
    "[00:08:20] 师：对。今天就到这里。\n"
)


def test_set_work_without_directions_is_student_time_and_the_report_says_so():
    us = utts(PRACTICE)
    assert untranscribed_gaps(us) and st_analysis(us).mode == "练习型"
    assert st_analysis(us, gaps="teacher").rt > 0.9  # the teacher's correction puts it back
    draft = diagnose_transcript(us, coder=None)
    assert any("未转写空档" in n and "--gaps teacher" in n for n in draft.analytics.notes)
    assert draft.analytics.gaps is not None and draft.analytics.gaps.count == 1


ENGLISH = (
    "[00:00:05] 师：今天我们学习交通方式。take the bus 是坐公交车，大家跟我读。\n"
    "[00:00:30] 众生：Take the bus.\n"
    "[00:00:35] 师：很好。下面讲 by bus，by 后面不加冠词，这是考点，大家记在本子上。\n"
)


def test_an_english_lesson_gets_english_lesson_advice():
    draft = diagnose_transcript(utts(ENGLISH), subject="英语", coder=None)
    ind = draft.analytics.subject_indicators
    assert (
        ind is not None
        and ind.target_language_share is not None
        and ind.target_language_share < 0.3
    )
    texts = " ".join(s.text for s in draft.report.suggestions)
    assert "英语约占" in texts and "因为……所以……" not in texts
    assert any(
        "Why" in s.text or "pair work" in s.text or "Can you" in s.text
        for s in draft.report.suggestions
    )


def test_resources_are_searched_for_the_subject_and_strong_lessons_get_growth_advice():
    asked: list[tuple] = []

    def finder(competency, query, stage, subject=""):
        asked.append((competency, stage, subject))
        return []

    diagnose_transcript(
        utts(ENGLISH), stage="初中", subject="英语", find_resources=finder, coder=None
    )
    assert asked and all(a[1:] == ("初中", "英语") for a in asked)
    from yanxiu.practice.diagnosis import draft_report
    from yanxiu.practice.draft import DimensionScore

    strong = [DimensionScore(dimension=d, competency="PRC-X", score=5 - (d == "课堂互动"), confidence=0.8)
              for d in ("提问质量", "课堂互动", "思维深度")]  # fmt: skip
    report = draft_report(strong, stage="", find_resources=None)
    assert not report.weaknesses and "发展方向：课堂互动" in report.summary
    assert report.suggestions[0].dimension == "课堂互动" and "下一步" in report.suggestions[0].text


def test_science_lessons_report_inquiry_steps():
    text = "师：请大家猜想浮力和什么有关？\n生A：我猜和体积有关，因为人在水里会变轻。\n师：那我们设计实验来验证。\n"
    draft = diagnose_transcript(utts(text), subject="物理", coder=None)
    steps = draft.analytics.subject_indicators.inquiry_steps
    assert "猜想假设" in steps and "设计实验" in steps and "得出结论" not in steps
    assert any("探究环节" in s.text for s in draft.report.suggestions)
