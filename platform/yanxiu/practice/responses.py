"""Questions and responses judged by what they do, not by their length (issue 20).

- **Genuine questions** (:func:`question_kinds`): a teacher question counts for 提问质量 and
  思维深度 only if the class gets to answer it. It is *self-answered* when the same turn goes on
  to state something after it ("为什么？因为……"), unless what follows sets the class to work
  ("请同桌交流"); *unanswered* (rhetorical) when the next turn is the teacher's again. A question
  the class answers in chorus with a word ("对。", "不能。") is closed, whatever its wording.
- **Feedback specificity** (:func:`response_kind`): a teacher turn after a student's is specific
  when it probes the answer (为什么, 依据, 能再说说, why…), evaluates it with a reason (抓住了, 还缺,
  但是, you mentioned…) or takes it up (uptake, below); "对，坐下", "好" and moving on with the
  script are generic however long the turn is.
- **Uptake** (:func:`uptake_similarity`): as in the conversational-uptake literature (Demszky et
  al. 2021), how much the teacher turn echoes the student turn before it: the cosine of their
  sentence embeddings (the USE multilingual encoder the utterance coder ships with), counted
  when ≥ :data:`UPTAKE_MIN_SIM` and the two share a content word. Revoicing (six characters of
  the student's words repeated) or three shared content units
  (:func:`~yanxiu.practice.lesson_metrics.content_units`) is uptake without the encoder (which
  costs about a millisecond a sentence); without the encoder, two shared units. Evidence quotes
  the whole clauses that share most, with the timestamps.
- **In-class checks** (:func:`closing_checks`): questions in the last 40 % of the lesson that an
  individual student answers with substance, checking of exercises (对答案, 订正, check the
  answers) and a student's own summary; a homework assignment never counts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from yanxiu.practice.draft import Uptake, UptakeEvent
from yanxiu.practice.lesson_metrics import Classified, content_units
from yanxiu.practice.parse import Utterance
from yanxiu.practice.talk_codes import TurnCode

UPTAKE_MIN_SIM = 0.5
LEXICAL_UPTAKE = 3  # shared content units that make uptake without asking the encoder
_AFTER_Q_WORK = re.compile(
    r"^[\s，,。]*(请|大家|同学们|同桌|小组|谁|哪|先|想一想|思考|讨论|说说|来|你|我们来|用|试|看|"
    r"please|work|discuss|talk|tell|think|who|let's|now)",
    re.I,
)
_PROBE = re.compile(
    r"(为什么|依据|理由|怎么想|怎么知道|能再说|再说说|具体说|哪里看出|从哪|你是说|你的意思|什么让你|你想想|想想看|"
    r"你用的|你是怎么|你刚才|"
    r"有不同|同意|补充|回应|怎么判断|证据|why|what made|can you tell|tell us more|explain|agree|respond)",
    re.I,
)
_EVALUATIVE = re.compile(
    r"(抓住了|说到了|说得很具体|讲得很具体|具体|还缺|不够|注意|但是|不过|对照|比较|关键|角度|发现了|不对|错了|应该是|"
    r"你说|他说|她说|第.组|you said|you mentioned|good point|point about|gave us|your idea|not right)",
    re.I,
)
# an evaluation is specific when it says why or what is missing, or names what was said
_REASONED = re.compile(r"(还缺|不够|但是|不过|因为|所以|应该|注意|because|but|should)", re.I)
_GENERIC = re.compile(
    r"^(好|嗯|对|行|可以|很好|非常好|不错|真棒|正确|对的|是的|ok|okay|good|great|yes|right|fine)"
    r"[\s，,。.！!]*(坐下|请坐|下一个|还有吗|还有谁|next|sit down)?[\s，,。.！!]*",
    re.I,
)
_HOMEWORK = re.compile(r"(作业|课后|回家|预习|homework)", re.I)
_EXERCISE_CHECK = re.compile(
    r"(对答案|对一下答案|订正|批改|检测|测一测|停笔|check the answers|let's check)", re.I
)
_STUDENT_SUMMARY = re.compile(
    r"(学到|学会|学了|知道了|明白了|收获|总结|我们是|learned|today we)", re.I
)
_TEACHER_SUMMARY = re.compile(
    r"(总结|小结|今天我们|这节课我们|本节课|回顾|today we|we learned)", re.I
)
_CLAUSE = re.compile(r"[^，,。！？!?；;：:]+")


def substantial(u: Utterance) -> bool:
    """A student answer with substance: an individual's, eight characters or five words."""
    text = re.sub(r"\s", "", u.text)
    words = len(re.findall(r"[A-Za-z]+", u.text))
    return not u.is_action and u.speaker_role != "teacher" and (len(text) >= 8 or words >= 5)


def question_kinds(utts: Sequence[Utterance], codes: Sequence[TurnCode]) -> dict[int, str]:
    """Each teacher question's kind: "genuine", "self-answered", "unanswered" or "chorus"."""
    out: dict[int, str] = {}
    for i, (u, c) in enumerate(zip(utts, codes, strict=True)):
        if u.speaker_role != "teacher" or not c.is_question:
            continue
        nxt = utts[i + 1] if i + 1 < len(utts) else None
        after = re.split(r"[？?]", u.text)[-1].strip() if re.search(r"[？?]", u.text) else ""
        if len(re.sub(r"[\s，,。.！!]", "", after)) >= 8 and not _AFTER_Q_WORK.match(after):
            out[u.index] = "self-answered"
        elif nxt is None or nxt.speaker_role == "teacher":
            out[u.index] = "unanswered"
        elif nxt.speaker_role == "students" and not nxt.is_action and not substantial(nxt):
            out[u.index] = "chorus"
        else:
            out[u.index] = "genuine"
    return out


Embed = Callable[[Sequence[str]], np.ndarray]


@lru_cache(maxsize=1)
def _default_embed() -> Embed | None:
    try:
        from yanxiu.practice.coder import use_embedder

        return use_embedder()
    except Exception:  # the encoder is optional: uptake falls back to shared content units
        return None


def uptake_similarity(
    pairs: Sequence[tuple[Utterance, Utterance]], embed: Embed | None | str = "default"
) -> list[float | None]:
    """Cosine similarity of each (student, teacher) pair's embeddings (None without encoder).

    The student turn is cut to 60 characters and the teacher turn to 50: uptake happens at the
    start of a response, and a long lecture after "很好" would dilute it."""
    model = _default_embed() if embed == "default" else embed
    if model is None or not pairs or isinstance(model, str):
        return [None] * len(pairs)
    texts = [text for s, t in pairs for text in (s.text[:60], t.text[:50])]
    vectors = np.asarray(model(texts), dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    return [float(vectors[2 * k] @ vectors[2 * k + 1]) for k in range(len(pairs))]


@dataclass(frozen=True)
class Response:
    """A teacher turn right after a student's, judged."""

    student: Utterance
    teacher: Utterance
    kind: str  # "probe", "evaluative", "uptake", "generic"
    uptake: bool
    similarity: float | None
    quote: str  # the student's clause and the teacher's that share most


def _shared_clauses(s: str, t: str) -> tuple[str, str, int]:
    best = ("", "", 0)
    for a in _CLAUSE.findall(s):
        ua = content_units(a)
        for b in _CLAUSE.findall(t):
            n = len(ua & content_units(b))
            if n > best[2]:
                best = (a.strip(), b.strip(), n)
    return best


def quotes(student: str, teacher: str, n: int = 6) -> bool:
    """Whether the teacher repeats ``n`` consecutive characters of the student's words (after
    dropping punctuation and spaces): revoicing is uptake whatever the embedding says."""
    a, b = (re.sub(r"[\W_]", "", x) for x in (student, teacher))
    return any(a[i : i + n] in b for i in range(0, max(0, len(a) - n + 1)))


def stamp(u: Utterance) -> str:
    if u.start_s is None:
        return f"第{u.line_no}行"
    s = int(u.start_s)
    return f"第{u.line_no}行 {s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def responses(utts: Sequence[Utterance], embed: Embed | None | str = "default") -> list[Response]:
    """Every teacher turn right after a spoken student turn, judged (see the module docstring)."""
    pairs = [
        (s, t) for s, t in zip(utts, utts[1:], strict=False)
        if s.speaker_role != "teacher" and not s.is_action and t.speaker_role == "teacher" and not t.is_action
    ]  # fmt: skip
    prepared = []
    for st, t in pairs:
        said = "".join(x for x in re.split(r"(?<=[。！？!?.])", t.text) if not _HOMEWORK.search(x))
        units = len(content_units(st.text) & content_units(said[:120]))
        quoted = substantial(st) and quotes(st.text, said)
        lexical = units >= LEXICAL_UPTAKE
        prepared.append(
            (
                said,
                units,
                quoted or (substantial(st) and lexical),
                substantial(st) and not quoted and not lexical and units >= 1,
            )
        )
    # the encoder only where it decides: a substantial answer, not revoiced, sharing a word
    model = _default_embed() if embed == "default" else embed
    need = [pair for pair, p in zip(pairs, prepared, strict=True) if p[3]]
    sim_of = dict(zip((id(t) for _, t in need), uptake_similarity(need, model), strict=True))
    no_model = model is None or isinstance(model, str)
    out = []
    for (s, t), (said, units, quoted, _) in zip(pairs, prepared, strict=True):
        a, b, shared = _shared_clauses(s.text, t.text)
        sim = sim_of.get(id(t))
        # a one-word answer cannot be taken up, only repeated; the encoder decides, with a
        # shared content word, else (no encoder) two shared content units
        up = substantial(s) and (
            quoted
            or (sim is not None and sim >= UPTAKE_MIN_SIM and units >= 1)
            or (no_model and units >= 2)
        )
        rest = _GENERIC.sub("", said[:60], count=1)
        if _PROBE.search(rest):
            kind = "probe"
        elif up:
            kind = "uptake"
        elif substantial(s) and _EVALUATIVE.search(rest) and (units >= 1 or _REASONED.search(rest)):
            kind = "evaluative"
        else:
            kind = "generic"
        quote = f"学生（{stamp(s)}）：“{a}” → 教师（{stamp(t)}）：“{b}”" if shared and up else ""
        out.append(Response(s, t, kind, up, None if sim is None else round(sim, 3), quote))
    return out


@dataclass(frozen=True)
class Checks:
    items: list[tuple[Utterance, str]]  # (turn, what kind of check)
    teacher_summary: Utterance | None


def closing_checks(utts: Sequence[Utterance], kinds: dict[int, str]) -> Checks:
    """In-class checks of the lesson's goals (see the module docstring); homework never counts."""
    n = len(utts)
    items: list[tuple[Utterance, str]] = []
    summary = None
    for i, u in enumerate(utts):
        late = i >= int(n * 0.6)
        said = "".join(s for s in re.split(r"(?<=[。！？!?.])", u.text) if not _HOMEWORK.search(s))
        if u.speaker_role == "teacher":
            if i >= int(n * 0.2) and _EXERCISE_CHECK.search(said):
                items.append((u, "练习反馈"))
            if late and _TEACHER_SUMMARY.search(said):
                summary = u
            nxt = utts[i + 1] if i + 1 < n else None
            if late and kinds.get(u.index) == "genuine" and nxt is not None and substantial(nxt):
                items.append((u, "当堂提问检测"))
        elif late and substantial(u) and _STUDENT_SUMMARY.search(u.text) and i >= int(n * 0.75):
            items.append((u, "学生自我小结"))
    return Checks(items, summary)


def effective_questions(
    utts: Sequence[Utterance], codes: Sequence[TurnCode]
) -> tuple[list[Classified], dict[int, str]]:
    """The turns as question statistics see them: self-answered and unanswered questions are
    not questions, a chorus-answered one is closed and recall (记忆); and each question's kind."""
    kinds = question_kinds(utts, codes)
    items = []
    for u, c in zip(utts, codes, strict=True):
        kind = kinds.get(u.index)
        if kind in ("self-answered", "unanswered"):
            items.append(Classified(u))
        elif kind == "chorus":
            items.append(Classified(u, True, False, "记忆"))
        else:
            items.append(Classified(u, c.is_question, c.is_open, c.bloom))
    return items, kinds


def semantic_uptake(judged: Sequence[Response]) -> Uptake:
    """The analytics' uptake: each teacher response that takes up the student turn before it,
    with the similarity and the clauses quoted (``shared``: the content units both use)."""
    events = [
        UptakeEvent(student=r.student.index, teacher=r.teacher.index,
                    shared=sorted(content_units(r.student.text) & content_units(r.teacher.text))[:6],
                    similarity=r.similarity, quote=r.quote or None)
        for r in judged if r.uptake
    ]  # fmt: skip
    n = len(judged)
    return Uptake(
        count=len(events), opportunities=n, rate=len(events) / n if n else None, events=events
    )
