"""Generate the small media files of content/lessons/media (run once; the output is committed).

- PDFs with ReportLab's built-in STSong-Light CID font (no font file needed; pin: reportlab==4.4.4).
- Breathing-pace audio clips as 8 kHz 8-bit mono WAV, written with the standard library.

    python scripts/make_lesson_media.py

The videos (WebM) are made by scripts/make_lesson_videos.py.
"""

from __future__ import annotations

import math
import wave
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "content" / "lessons" / "media"

PDFS = {
    "sd-005-discipline-card.pdf": (
        "教育惩戒实施要点卡",
        [
            "一、三类惩戒",
            "一般惩戒（教师当场实施）：点名批评；责令赔礼道歉、做口头或书面检讨；适当增加额外的教学或班级公益服务任务；一节课内的教室内站立；课后教导。",
            "较重惩戒（学校德育工作负责人实施）：训导；承担校内公益服务任务；安排专门的校规校纪、行为规则教育；暂停或限制参加游览及其他集体活动。",
            "严重惩戒（小学高年级、初中、高中，违规情节严重）：不超过一周的停课或停学；由法治副校长或法治辅导员训诫；安排专门的课程或教育场所。",
            "二、八类禁止行为",
            "1. 击打、刺扎等直接造成身体痛苦的体罚；2. 超过正常限度的罚站、反复抄写、强制不适姿势、刻意孤立等变相体罚；3. 辱骂或以歧视性、侮辱性言行侵犯人格尊严；4. 因个人或少数人违纪惩罚全体学生；5. 因学业成绩惩戒学生；6. 因个人情绪、好恶实施或选择性实施惩戒；7. 指派学生惩戒其他学生；8. 其他侵害学生权利的行为。",
            "三、程序提示",
            "实施前：确认事实，听取学生陈述；实施后：关注学生情绪，必要时与家长沟通；较重以上惩戒：告知家长，记录在案；学生或家长有异议：告知申诉渠道。",
            "— 本卡片供课堂随身查阅，以《中小学教育惩戒规则（试行）》原文为准。",
        ],
    ),
    "zy-001-homework-checklist.pdf": (
        "学校作业管理自查表（教师版）",
        [
            "一、总量与时长",
            "□ 小学一二年级不布置书面家庭作业，校内可适当安排巩固练习。",
            "□ 小学三至六年级书面作业平均完成时间不超过60分钟；初中不超过90分钟。",
            "□ 周末、寒暑假、法定节假日作业总量同样受控，并与班级其他学科统筹。",
            "二、布置与批改",
            "□ 不布置机械、重复、惩罚性作业；不要求学生自批自改作业。",
            "□ 不给家长布置或变相布置作业，不要求家长检查、批改作业。",
            "□ 作业全批全改为主，面批讲解针对学困生。",
            "三、反馈与改进",
            "□ 统计典型错误，作为讲评课与分层作业的依据。",
            "□ 每周查看学生作业时长反馈，超量时及时调整。",
            "— 对照打勾，未达标的条目写入下周作业改进计划。",
        ],
    ),
    "xx-025-ai-tool-review.pdf": (
        "校园人工智能工具选用审查清单",
        [
            "一、数据与隐私",
            "□ 是否收集学生姓名、学号、照片、声音等个人信息？收集目的是否必要、范围是否最小？",
            "□ 涉及不满十四周岁学生的个人信息，是否取得监护人同意？",
            "□ 数据存储在哪里、保存多久、能否删除？是否向境外传输？",
            "二、内容与算法",
            "□ 生成内容是否有明显的事实错误、价值偏差？教师能否复核并修改？",
            "□ 评分、推荐类功能是否说明依据？是否对方言、特殊需要学生存在不公平？",
            "三、使用规范",
            "□ 学生使用的时长、场景是否有约定？是否有防止代写作业的安排？",
            "□ 向家长说明使用目的、数据处理方式与退出办法。",
            "— 任一项答“否”或“不清楚”，暂缓在课堂上使用，提交学校信息化工作小组评估。",
        ],
    ),
    "rz-011-incident-card.pdf": (
        "学生意外伤害第一时间处置流程卡",
        [
            "第一步：稳住现场（1分钟内）",
            "停止活动，疏散围观学生，确认受伤学生意识、呼吸；不随意搬动疑似骨折、头颈部受伤的学生。",
            "第二步：求助与报告（3分钟内）",
            "呼叫校医或就近教师协助；立即报告年级负责人或学校值班领导；情况严重的拨打120。",
            "第三步：通知家长",
            "由班主任或学校指定人员联系家长，说明事实、已采取的措施和就医地点，不推测责任。",
            "第四步：记录",
            "当天写明时间、地点、经过、在场人员、处置过程，保留照片等材料，交学校存档。",
            "第五步：后续跟进",
            "关注学生返校后的身心状况；配合学校做好安全隐患排查。",
            "— 牢记：先救人、再报告、后记录，任何情况下都不单独私了。",
        ],
    ),
}

# (file, seconds, breathing cycle: inhale, exhale)
AUDIO = {"xl-010-breathing-short.wav": 12.0, "rz-009-breathing.wav": 30.0}


def make_pdf(path: Path, title: str, lines: list[str]) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    head = ParagraphStyle("h", fontName="STSong-Light", fontSize=18, leading=26, spaceAfter=12)
    body = ParagraphStyle("b", fontName="STSong-Light", fontSize=11.5, leading=19, wordWrap="CJK")
    doc = SimpleDocTemplate(str(path), pagesize=A4, title=title, author="研修平台课程组",
                            invariant=1)  # fmt: skip
    story = [Paragraph(title, head)]
    for line in lines:
        story += [Paragraph(line, body), Spacer(1, 6)]
    doc.build(story)


def make_breathing_wav(path: Path, seconds: float, rate: int = 8000) -> None:
    """A soft tone that rises for 4 s (inhale) and falls for 6 s (exhale), then rests."""
    frames = bytearray()
    for n in range(int(seconds * rate)):
        t = n / rate
        phase = t % 12.0
        if phase < 4:
            pitch, level = 220 + 110 * phase / 4, 0.25 + 0.15 * phase / 4
        elif phase < 10:
            pitch, level = 330 - 110 * (phase - 4) / 6, 0.4 - 0.2 * (phase - 4) / 6
        else:
            pitch, level = 220, 0.05
        sample = level * math.sin(2 * math.pi * pitch * t)
        frames.append(int(128 + 100 * sample))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(rate)
        out.writeframes(bytes(frames))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (title, lines) in PDFS.items():
        make_pdf(OUT / name, title, lines)
    for name, seconds in AUDIO.items():
        make_breathing_wav(OUT / name, seconds)
    for path in sorted(OUT.iterdir()):
        print(f"{path.name}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
