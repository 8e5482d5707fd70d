"""Rule-based codes for classroom turns: questions (open or closed, Bloom level) and FIAS.

No labelled Chinese FIAS or Bloom data exists to learn from, so these codes are transparent
rules that a trainer can read and dispute; each rule lists the cue words it relies on and the
cues found are returned as evidence. The learned dialogic-move coder (DialogID categories)
complements them.

Questions. Transcripts come typed (with proper punctuation) or from speech recognition (ASR:
punctuation missing or wrong), so a wh-word alone does not make a question: "这就是为什么要
移项。" explains and "这几个例子都说明……" states. A teacher turn asks when one of its sentences
does (:func:`question_sentence`), by these rules in order:

1. it contains ？ or ? — a question;
2. a clause ends with a question particle: 吗, 么 (not 什么/怎么/那么/这么…), a tag 吧 (对吧,
   是吧, 懂了吧… — not a suggestion such as 我们开始吧), or the unpunctuated sentence ends with
   呢 (那第二题呢; not 我还没写完呢, and not the topic 呢 before a comma) — a question;
3. it holds an interrogative word (为什么, 怎么, 什么, 哪, 谁, 几, 多少, 是不是, 有没有…) used
   interrogatively — a question. A use is not interrogative inside one of a short list of
   constructions: always (:data:`NOT_ASKING`: 这就是为什么, 无论/不管…, 什么都/谁也, 没什么,
   不知道为什么, 想说什么就说什么, 几乎/这几/十几, 多少有些…), and when the sentence ends
   with 。/！ (:data:`NOT_ASKING_IF_STATED`: 几个/几句 as "a few", 为什么…是因为…, an embedded
   question after 知道/学习/介绍/看看/判断… or before 要写清楚, a quotation, 怎么又…！).
   Without final punctuation these second ones still ask: ASR drops a ？ more often than it
   adds a 。;
4. unpunctuated only: an English sentence opening with a wh-word or an inverted auxiliary, or
   你觉得/你认为/你发现 — a question (typed text would carry the ？).

Otherwise the sentence is a statement. Open/closed and Bloom level are judged on the last
asking sentence of the turn, with the non-interrogative constructions blanked out.

FIAS categories (Flanders): 1 accepts feeling, 2 praises or encourages, 3 accepts or uses
student ideas, 4 asks questions, 5 lectures, 6 gives directions, 7 criticises or justifies
authority; 8 student response, 9 student initiation; 10 silence: timestamp gaps (added by
:func:`yanxiu.practice.lesson_metrics.expand_fias`) and student activity written as a stage
direction (``众生：（独立练习）``), which is work, not student talk.

Teacher turns also get their dialogic-instruction move (DialogID: commending, guidance,
summarization, greeting, note-taking, repeating, reviewing, example-giving, others) from the
learned coder in :mod:`yanxiu.practice.coder`, loaded once per process from the models
directory. DialogID utterances are short speech segments (median 16 characters, 93 % one
sentence) while a transcribed turn often holds several sentences, so each sentence is coded.
A turn *makes* a specific (non-"others") move when one of its sentences is coded so with
probability ≥ 0.5; its main move is the most confident of those, else "others". Turns that
are not mainly Chinese are not coded (the model is Chinese only). Without the model files the
move is None and a warning is logged once; the FIAS and question codes never depend on it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from yanxiu.practice.coder import Move, UtteranceCoder, load_coder
from yanxiu.practice.lesson_metrics import Classified, content_units
from yanxiu.practice.parse import Utterance

# "default": the shipped coder under the settings' models directory; None: rule codes only
CoderChoice = UtteranceCoder | Literal["default"] | None

MIN_MOVE_PROB = 0.5  # a specific move below this probability does not count for the turn
QUESTION_MARK = re.compile(r"[？?]")
# Question rules (see :func:`question_sentence`). Interrogative words: wh-words and A-not-A forms.
INTERROGATIVES = ("为什么", "怎么", "怎样", "如何", "什么", "哪", "谁", "几", "多少", "是不是", "对不对",
                  "有没有", "能不能", "会不会", "好不好", "行不行")  # fmt: skip
# Weak cues: a question only in unpunctuated speech ("你觉得他说得对" from ASR); a typist who
# ends the sentence with 。 meant a statement ("挑一条你觉得最有用的建议。").
WEAK_QUESTION_CUES = ("你觉得", "你认为", "你发现")
# Constructions in which an interrogative word does not ask, whatever the punctuation.
NOT_ASKING = (
    r"(这|那|也)(就|也|正|便)是为什么",  # 这就是为什么要移项
    r"(无论|不管|不论)[^，,。！？!?；;]*",  # 不管用什么方法（concessive clause）
    r"((?<!为)什么|谁|哪里|哪儿|哪个|哪些|怎么样|怎么|怎样)[^，,。！？!?；;]{0,3}?(都|也)",  # 什么都行，谁也不
    r"(没|没有|不是|不算|没啥)什么",  # 没什么问题，不是什么难题
    r"(?<![知清晓确])不(知道|清楚|晓得|确定)[^，,。！？!?；;]*",  # 不知道为什么（知不知道 asks）
    r"((?<!为)什么|谁|哪里|哪儿|哪个|怎么)[^，,。！？!?；;]{1,6}?\1",  # 想说什么就说什么，谁先做完谁先交
    r"(几个|一个|问个|多问)为什么",  # 多问几个为什么（为什么 as a noun）
    r"哪怕|几乎|几何|几(十|百|千|万)|(这|那|好|十|前|后|头)几",  # not asking how many
    r"多少(有些|有点|会)|或多或少|多多少少",
)
# Constructions that do not ask when the sentence ends with 。/！ (typed or ASR-punctuated as
# a statement); without final punctuation they still count, since ASR drops the ？. Spans
# that need a closing part are bounded ({0,40}, {0,200}): unbounded, a long line with many
# openings and no close would be re-scanned from each opening (quadratic time).
NOT_ASKING_IF_STATED = (
    r"几(个|位|句|种|次|点|条|天|年|遍|步|组|名|件|道|本|张|处|类|段|行|页)",  # 有几个同学没交，说几句
    r"为什么[^。！？!?]{0,40}?因为",  # 为什么会沉，是因为……（the teacher answers it）
    # an embedded question the class is to find out or is told, not asked: 看看会有什么变化
    r"(知道|学习|学会|研究|介绍|讲讲|讲一讲|告诉|看看|看一看|试试|试一试|判断|找出|想清楚|弄清楚|搞清楚)"
    r"[^，,。！？!?；;]*",
    r"(什么|哪)[^，,。！？!?；;]{0,3}(要|得)(写|说|讲)清楚",  # 设什么要写清楚（a subject clause）
    r"“[^”]{0,200}”|「[^」]{0,200}」|\"[^\"]{0,200}\"",  # quoting: 表示“谁的”要用 whose
    r"怎么又|像什么样子|多少(遍|次)了",  # reproach: 怎么又忘了！
)
_NOT_ASKING = [re.compile(p) for p in NOT_ASKING]
_NOT_ASKING_IF_STATED = [re.compile(p) for p in NOT_ASKING_IF_STATED]
_INTERROGATIVE = re.compile("|".join(sorted(INTERROGATIVES, key=len, reverse=True)))
STATED = "。！!；;."  # final punctuation of a statement
_TRAILING = "”’」』）)\"' \t"
# Sentence-final particles (checked at the end of each clause, i.e. before ，/。 or the end).
_PARTICLE = re.compile(
    r"(吗|(?<![什怎那这多要为])么|(对|是|没错|明白|明白了|懂了|清楚了|会了|记住了|理解了)吧)$"
)
# clause breaks: punctuation, or a space between Chinese characters (ASR output uses spaces)
_CLAUSE_BREAK = re.compile(r"[，,、：:。！!；;…]+|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")
_DECLARATIVE_NE = re.compile(r"(还没|还在|正在|着)[^，,]{0,30}呢$")  # 我还没写完呢（not asking）
_EN_QUESTION = re.compile(
    r"^\W*(?:(?:so|and|but|ok|okay|now|then|well)\W+)?(what|why|how|which|who|whom|whose|when|where"
    r"|do|does|did|is|are|was|were|can|could|would|will|should|have|has)\b",
    re.I,
)
# these invite reasoning or alternatives even in a yes/no form ("还有没有别的方法？")
REASON_WORDS = ("为什么", "怎么", "如何", "别的方法", "别的办法", "其他方法",
                "why", "how ", "what do you think", "what would")  # fmt: skip
CLOSED_CUES = ("吗", "是不是", "对不对", "有没有", "能不能", "会不会", "好不好", "行不行", "是多少", "等于几",
               "等于多少", "叫什么", "对吧", "是吧", "does ", "is it", "is the", "are they", "can both",
               "do you agree")  # fmt: skip
OPEN_CUES = ("为什么", "怎么想", "怎么做", "怎么办", "怎样", "如何", "你觉得", "你认为", "你发现", "说说",
             "谈谈", "有什么不同", "有什么区别", "还有别的", "还有其他", "还有什么", "有哪些", "你的理由",
             "依据是什么", "怎么知道", "怎么判断", "如果", "想象", "设计", "解释", "比较", "评价", "怎么", "别的方法",
             "别的办法", "共同点", "怎么看", "用什么办法", "why", "how ", "what do you think", "what would",
             "what if", "respond to", "in your opinion", "how can we")  # fmt: skip
# Bloom levels, highest first: the highest level whose cue appears wins.
BLOOM_CUES: dict[str, tuple[str, ...]] = {
    "创造": ("设计", "创编", "改编", "想象", "如果", "别的方法", "别的办法", "其他方法", "另一种", "提出", "编一个",
           "用什么办法", "what would", "what if", "design", "create", "how else"),
    "评价": ("同意", "赞成", "评价", "哪个更好", "哪种更好", "合理", "有道理", "判断", "你认为", "怎么看", "能不能算",
           "agree", "fair", "should", "do you think", "opinion", "better"),
    "分析": ("为什么", "比较", "区别", "不同", "原因", "关系", "依据", "理由", "怎么知道", "分类", "推理", "证明",
           "共同点", "相同", "特点", "why", "compare", "difference", "how can we tell", "evidence"),
    "应用": ("算一算", "试一试", "用这个", "用刚才", "解决", "计算", "运用", "应用", "做一做", "列式", "画一画",
           "use ", "solve", "calculate", "how would you say"),
    "理解": ("什么意思", "解释", "用自己的话", "概括", "举个例子", "举例", "说明", "意思是", "总结", "归纳",
           "explain", "mean", "in your own words", "example", "summar"),
    "记忆": ("是什么", "叫什么", "多少", "哪一年", "谁", "哪里", "背", "说出", "回忆", "记得", "几", "what is",
           "who", "when", "where", "remember"),
}  # fmt: skip
PRAISE = ("很好", "真好", "非常好", "真棒", "不错", "说得好", "说得对", "完全正确", "回答正确", "很准确",
          "厉害", "了不起", "很有想法", "有创意", "掌声", "表扬", "好极了", "太好了", "good", "great",
          "excellent", "well done")  # fmt: skip
FEELING = ("别紧张", "不要紧张", "没关系", "别着急", "不着急", "我理解", "我知道你", "能理解", "难过",
           "担心", "害怕", "辛苦了", "慢慢来")  # fmt: skip
USE_IDEAS = ("刚才", "你的意思是", "他的意思是", "她的意思是", "同学说", "说的", "你的想法", "他的想法",
             "同意", "补充", "按照你的", "根据你的")  # fmt: skip
DIRECTIONS = ("请", "打开", "翻到", "拿出", "坐下", "站起来", "读一读", "读一下", "写下来", "写一写",
              "讨论", "开始", "停", "看黑板", "看屏幕", "举手", "小组", "同桌", "齐读", "做一下", "完成",
              "open your", "turn to", "let's", "please")  # fmt: skip
CRITICISM = ("安静", "不要说话", "别说话", "注意听", "怎么又", "不认真", "不对", "错了", "说了多少遍",
             "站好", "坐好", "像什么样子", "严肃", "批评", "不准", "不许")  # fmt: skip
STUDENT_INITIATION = ("我想问", "我有个问题", "我有一个问题", "老师，我", "我觉得不对", "我不同意", "我有不同",
                      "我补充", "我还想", "为什么")  # fmt: skip


@dataclass(frozen=True)
class TurnCode:
    """Codes of one turn, with the cue words that justify them."""

    fias: int
    is_question: bool = False
    is_open: bool | None = None
    bloom: str | None = None
    cues: tuple[str, ...] = ()
    move: Move | None = None  # main DialogID move of a teacher turn (learned coder), else None
    sentence_moves: tuple[Move, ...] = ()  # the move of each sentence of the turn

    def makes(self, *names: str) -> Move | None:
        """The most confident sentence move among ``names`` (probability ≥ 0.5), if any."""
        hits = [m for m in self.sentence_moves if m.name in names and m.prob >= MIN_MOVE_PROB]
        return max(hits, key=lambda m: m.prob) if hits else None


def _found(text: str, cues: Sequence[str]) -> list[str]:
    lower = text.lower()
    return [c for c in cues if c in lower]


def question_sentences(text: str) -> list[str]:
    """A turn cut into sentences for question coding: :func:`sentences`, and English at ". "."""
    return [p.strip() for s in sentences(text) for p in re.split(r"(?<=\.)\s+", s) if p.strip()]


def _stated(sentence: str) -> bool:
    """Whether the sentence ends as a statement (。！; …), closing quotes and brackets aside."""
    return sentence.rstrip(_TRAILING)[-1:] in STATED


def _masked(sentence: str, stated: bool) -> str:
    """``sentence`` with its non-asking constructions blanked out (see the module docstring)."""
    out = sentence
    for pattern in _NOT_ASKING + (_NOT_ASKING_IF_STATED if stated else []):
        # same-length blanks, so later patterns see the sentence's shape unchanged
        out = pattern.sub(lambda m: "＿" * len(m.group(0)), out)
    return out


def question_sentence(sentence: str) -> bool:
    """Whether one sentence asks a question (rules in the module docstring, in this order)."""
    if QUESTION_MARK.search(sentence):
        return True
    bare = sentence.rstrip(_TRAILING)
    stated = _stated(sentence)
    # a question particle closing a clause: 懂了吗，… / 对吧 / 是么 / unpunctuated …呢
    clauses = [c.rstrip(_TRAILING) for c in _CLAUSE_BREAK.split(bare)]
    if any(_PARTICLE.search(c) for c in clauses if c):
        return True
    if bare.endswith("呢") and not _DECLARATIVE_NE.search(bare):
        return True
    # an interrogative word outside the constructions in which it does not ask
    if _INTERROGATIVE.search(_masked(sentence, stated)):
        return True
    # English is typed with its punctuation; ASR English without it: wh-word or inversion first
    return not stated and (
        bool(_EN_QUESTION.search(sentence)) or bool(_found(sentence, WEAK_QUESTION_CUES))
    )


def code_question(text: str) -> tuple[bool, bool | None, str | None, list[str]]:
    """Whether a teacher turn asks a question; if so whether open, its Bloom level and cues.

    The turn asks when one of its sentences does (:func:`question_sentence`); the last such
    sentence is judged, since teachers lecture, then ask. Open/closed and Bloom cues are looked
    for with the non-asking constructions blanked out ("这就是为什么…，对吗？" is closed).
    Returns ``(is_question, is_open, bloom, cues)``; a statement gives ``(False, None, None, [])``.
    """
    asked_in = [s for s in question_sentences(text) if question_sentence(s)]
    if not asked_in:
        return False, None, None, []
    last = asked_in[-1]
    asked = _masked(last, stated=_stated(last))
    open_cues = _found(asked, OPEN_CUES)
    closed_cues = _found(asked, CLOSED_CUES)
    is_open = bool(open_cues) and not (closed_cues and not _found(asked, REASON_WORDS))
    bloom = next((level for level in BLOOM_CUES if _found(asked, BLOOM_CUES[level])), None)
    if bloom is None:
        bloom = "理解" if is_open else "记忆"
    return True, is_open, bloom, open_cues or closed_cues


def resolve_coder(coder: CoderChoice) -> UtteranceCoder | None:
    """The coder to use: ``"default"`` loads (once) the one under the configured models dir."""
    if coder == "default":
        from yanxiu.config import get_settings

        return load_coder(Path(get_settings().models_dir))
    return coder


# a sentence: up to sentence-final punctuation and any closing quotes or brackets after it
_SENTENCE = re.compile(
    r"[^。！？!?；;…]+(?:[。！？!?；;…]+[”’」』）)\"']*)?|[。！？!?；;…]+[”’」』）)\"']*"
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


def sentences(text: str) -> list[str]:
    """A turn split after sentence-final punctuation (the unit DialogID utterances resemble)."""
    return [p.strip() for p in _SENTENCE.findall(text) if p.strip()] or [text.strip()]


def is_chinese(text: str) -> bool:
    """Mainly Chinese: at least two CJK characters and not outweighed by Latin letters."""
    cjk = len(_CJK.findall(text))
    return cjk >= 2 and 3 * cjk >= len(_LATIN.findall(text))


def turn_move(moves: Sequence[Move]) -> Move:
    """The move of a turn from its sentences' moves (see the module docstring)."""
    specific = [m for m in moves if m.name != "others" and m.prob >= MIN_MOVE_PROB]
    return max(specific or moves, key=lambda m: m.prob)


def code_moves(
    utterances: Sequence[Utterance], coder: CoderChoice = "default"
) -> list[tuple[Move, ...]]:
    """The DialogID move of each sentence of every spoken Chinese teacher turn (else empty)."""
    model = resolve_coder(coder)
    out: list[tuple[Move, ...]] = [()] * len(utterances)
    if model is None:
        return out
    owners: list[int] = []
    pieces: list[str] = []
    for i, u in enumerate(utterances):
        if u.speaker_role == "teacher" and not u.is_action and is_chinese(u.text):
            for s in sentences(u.text):
                owners.append(i)
                pieces.append(s)
    by_turn: dict[int, list[Move]] = {}
    for i, move in zip(owners, model.code(pieces), strict=True):
        by_turn.setdefault(i, []).append(move)
    for i, moves in by_turn.items():
        out[i] = tuple(moves)
    return out


def code_turns(
    utterances: Sequence[Utterance], *, coder: CoderChoice = "default"
) -> list[TurnCode]:
    """FIAS, question and (for teacher turns) DialogID move codes for each turn, in order."""
    codes = _rule_codes(utterances)
    moves = code_moves(utterances, coder)
    return [
        replace(c, move=turn_move(m), sentence_moves=m) if m else c
        for c, m in zip(codes, moves, strict=True)
    ]


def _rule_codes(utterances: Sequence[Utterance]) -> list[TurnCode]:
    """FIAS and question codes for each turn, in order (transparent rules)."""
    codes: list[TurnCode] = []
    previous: Utterance | None = None
    for u in utterances:
        text = u.text
        if u.speaker_role != "teacher":
            if u.is_action:  # seatwork, group work: not talk; FIAS 10 (silence or confusion)
                codes.append(TurnCode(10, cues=("学生活动",)))
            else:
                initiated = _found(text, STUDENT_INITIATION) or (
                    QUESTION_MARK.search(text) and not (previous and previous.speaker_role == "teacher" and QUESTION_MARK.search(previous.text))
                )  # fmt: skip
                codes.append(
                    TurnCode(9 if initiated else 8, cues=tuple(_found(text, STUDENT_INITIATION)))
                )
        else:
            asks, is_open, bloom, q_cues = code_question(text)
            after_student = (
                previous is not None
                and previous.speaker_role != "teacher"
                and not previous.is_action
            )
            reused = after_student and len(content_units(previous.text) & content_units(text)) >= 2  # type: ignore[union-attr]
            if f := _found(text, FEELING):
                codes.append(TurnCode(1, asks, is_open, bloom, tuple(f)))
            elif (
                after_student
                and (reused or _found(text, USE_IDEAS))
                and not _found(text, CRITICISM)
            ):
                codes.append(
                    TurnCode(
                        3, asks, is_open, bloom, tuple(_found(text, USE_IDEAS)) or ("复述学生观点",)
                    )
                )
            elif (p := _found(text, PRAISE)) and after_student:
                codes.append(TurnCode(2, asks, is_open, bloom, tuple(p)))
            elif asks:
                codes.append(TurnCode(4, True, is_open, bloom, tuple(q_cues)))
            elif c := _found(text, CRITICISM):
                codes.append(TurnCode(7, cues=tuple(c)))
            elif (d := _found(text, DIRECTIONS)) and len(text) <= 40:
                codes.append(TurnCode(6, cues=tuple(d)))
            else:
                codes.append(TurnCode(5))
        previous = u
    return codes


def classified(utterances: Sequence[Utterance], codes: Sequence[TurnCode]) -> list[Classified]:
    """Bridge to :mod:`lesson_metrics`' question statistics and wait times."""
    return [
        Classified(u, c.is_question, c.is_open, c.bloom)
        for u, c in zip(utterances, codes, strict=True)
    ]
