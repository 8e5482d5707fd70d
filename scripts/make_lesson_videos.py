"""Generate the short "slides" videos of content/lessons/media (run once; the output is committed).

Each clip is a few slides of Chinese text drawn with Pillow in a CJK font (Noto Sans CJK, from
Debian's fonts-noto-cjk, which scripts/system-deps.sh installs), narrated by espeak-ng's
Mandarin voice, and encoded by ffmpeg as WebM (VP9 video + Opus audio, which Debian's Chromium
plays). ffmpeg and espeak-ng are authoring tools only: the app and the tests never run them.

    apt-get install -y ffmpeg espeak-ng
    python scripts/make_lesson_videos.py

Each slide lasts as long as its narration (plus a pause), so a clip's length comes out of the
text: the script prints every clip's duration, which is the ``duration`` its unit declares in
content/lessons/*.yaml (tests/test_content.py checks that they agree).
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "content" / "lessons" / "media"
FONT_DIR = Path("/usr/share/fonts/opentype/noto")
SIZE = (640, 360)
FPS = 5
RATE = 22050  # espeak-ng's output rate
PAUSE = 0.6  # seconds of silence after each slide's narration


@dataclass(frozen=True)
class Slide:
    heading: str
    lines: tuple[str, ...]
    say: str  # the narration, read by espeak-ng


@dataclass(frozen=True)
class Clip:
    name: str
    title: str
    accent: tuple[int, int, int]
    slides: tuple[Slide, ...]


CLIPS = (
    Clip(
        "zy-001-homework-minutes.webm",
        "微课：作业时长怎么算",
        (31, 111, 139),
        (
            Slide("作业时长怎么算", ("学校作业管理 · 微课",), "作业时长怎么算？"),
            Slide(
                "一、按中等水平学生的实际用时",
                ("布置前，自己先做一遍",),
                "按中等生的实际用时估算。",
            ),
            Slide(
                "二、各学科合起来算总量",
                ("小学三至六年级：不超过 60 分钟", "初中：不超过 90 分钟"),
                "小学三到六年级不超过六十分钟，初中九十分钟。",
            ),
        ),
    ),
    Clip(
        "sd-005-three-questions.webm",
        "微课：惩戒之前问自己三个问题",
        (139, 58, 58),
        (
            Slide("惩戒之前，问自己三个问题", ("教育惩戒 · 微课",), "惩戒之前，问自己三个问题。"),
            Slide(
                "一问：事实清楚吗？",
                ("确认事实", "听取学生的陈述和申辩"),
                "第一，事实清楚吗？听过学生的陈述了吗？",
            ),
            Slide(
                "二问：方式合规吗？",
                ("只用规则和校规列明的方式", "与过错程度相适应"),
                "第二，方式在规则列明的范围内吗？与过错程度相适应吗？",
            ),
            Slide(
                "三问：为了教育吗？",
                ("惩戒是手段，教育是目的", "不因个人情绪实施惩戒"),
                "第三，我是为了教育，还是在发泄情绪？",
            ),
        ),
    ),
    Clip(
        "rz-011-first-minutes.webm",
        "微课：意外伤害发生后的前五分钟",
        (46, 125, 50),
        (
            Slide(
                "意外伤害：前五分钟做什么", ("安全教育 · 微课",), "意外伤害发生后，前五分钟做什么？"
            ),
            Slide(
                "稳住现场（1 分钟内）",
                ("停止活动，疏散围观学生", "不随意搬动疑似骨折、头颈部受伤的学生"),
                "一分钟内稳住现场，停止活动，不随意搬动受伤学生。",
            ),
            Slide(
                "求助与报告（3 分钟内）",
                ("呼叫校医，报告值班领导", "情况严重的拨打 120"),
                "三分钟内求助和报告，情况严重的拨打一二零。",
            ),
            Slide(
                "先救人、再报告、后记录",
                ("通知家长只说事实，不推测责任",),
                "记住：先救人，再报告，后记录。",
            ),
        ),
    ),
)


def font(size: int, *, bold: bool = False):  # noqa: ANN201 - PIL's font type
    from PIL import ImageFont

    name = "NotoSansCJK-Bold.ttc" if bold else "NotoSansCJK-Regular.ttc"
    # index 2 of the collection is the Simplified Chinese face (Noto Sans CJK SC)
    return ImageFont.truetype(str(FONT_DIR / name), size, index=2)


def speak(text: str, folder: Path, n: int) -> list[int]:
    """The narration of ``text`` as 16-bit mono samples at RATE."""
    path = folder / f"say-{n}.wav"
    subprocess.run(["espeak-ng", "-v", "cmn", "-s", "230", "-w", str(path), text], check=True)
    with wave.open(str(path)) as w:
        assert w.getframerate() == RATE and w.getnchannels() == 1 and w.getsampwidth() == 2
        raw = w.readframes(w.getnframes())
    return [int.from_bytes(raw[i : i + 2], "little", signed=True) for i in range(0, len(raw), 2)]


def draw(clip: Clip, slide: Slide, index: int, elapsed: float, total: float):  # noqa: ANN201
    from PIL import Image, ImageDraw

    image = Image.new("RGB", SIZE, (250, 248, 243))
    pen = ImageDraw.Draw(image)
    width, height = SIZE
    pen.rectangle((0, 0, width, 44), fill=clip.accent)
    pen.text((20, 9), clip.title, font=font(20, bold=True), fill=(255, 255, 255))
    pen.text(
        (width - 70, 12), f"{index + 1}/{len(clip.slides)}", font=font(16), fill=(255, 255, 255)
    )
    pen.text((40, 92), slide.heading, font=font(34, bold=True), fill=(33, 33, 33))
    y = 160
    for line in slide.lines:
        pen.text((56, y), "· " + line, font=font(24), fill=(66, 66, 66))
        y += 44
    # a progress bar and the clip's clock, so the frames show playing go on
    pen.rectangle((0, height - 34, width, height), fill=(235, 232, 225))
    pen.rectangle((0, height - 6, int(width * elapsed / total), height), fill=clip.accent)
    clock = (
        f"{int(elapsed) // 60}:{int(elapsed) % 60:02d} / {int(total) // 60}:{int(total) % 60:02d}"
    )
    pen.text((20, height - 30), "研修平台 · 课程微课", font=font(15), fill=(110, 110, 110))
    pen.text((width - 120, height - 30), clock, font=font(15), fill=(110, 110, 110))
    return image


def make_clip(clip: Clip, folder: Path) -> float:
    voices = [speak(s.say, folder, n) for n, s in enumerate(clip.slides)]
    # each slide: its narration plus a pause, rounded up to whole frames
    lengths = [math.ceil((len(v) / RATE + PAUSE) * FPS) / FPS for v in voices]
    total = sum(lengths)
    audio: list[int] = []
    frame = 0
    for index, (slide, voice, seconds) in enumerate(zip(clip.slides, voices, lengths, strict=True)):
        audio += voice + [0] * (round(seconds * RATE) - len(voice))
        for _ in range(round(seconds * FPS)):
            draw(clip, slide, index, frame / FPS, total).save(folder / f"f{frame:04d}.png")
            frame += 1
    with wave.open(str(folder / "voice.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(b"".join(s.to_bytes(2, "little", signed=True) for s in audio))
    target = OUT / clip.name
    subprocess.run(
        [
            "ffmpeg", "-loglevel", "error", "-y",
            "-framerate", str(FPS), "-i", str(folder / "f%04d.png"),
            "-i", str(folder / "voice.wav"),
            "-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p", "-b:v", "0", "-crf", "42",
            "-g", str(FPS * 4), "-deadline", "good", "-cpu-used", "2", "-row-mt", "1",
            "-c:a", "libopus", "-b:a", "20k", "-ac", "1", "-ar", "24000",
            "-t", f"{total:.1f}", "-metadata", f"title={clip.title}",
            "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
            str(target),
        ],
        check=True,
    )  # fmt: skip
    return total


def main() -> None:
    for tool in ("ffmpeg", "espeak-ng"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install -y ffmpeg espeak-ng")
    OUT.mkdir(parents=True, exist_ok=True)
    for clip in CLIPS:
        with tempfile.TemporaryDirectory() as tmp:
            seconds = make_clip(clip, Path(tmp))
        size = (OUT / clip.name).stat().st_size
        print(f"{clip.name}: {size} bytes, duration {seconds:.1f} s")


if __name__ == "__main__":
    main()
