"""The speaker-mapping step of a practice upload in Chromium (issue 20): an ASR export labelled
SPEAKER_00/01/02 is shown with each speaker's first lines and share, the default (most talk =
师) preselected; the teacher changes one speaker, the live preview (htmx, no inline script)
updates, and the confirmed upload is stored with the mapped names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Browsing
from tests.browser.test_journeys import TEACHER, Shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ASR = (
    "[00:00:01] SPEAKER_00: 同学们好，今天我们学习分数的意义。请看屏幕上的图，你发现了什么？\n"
    "[00:00:12] SPEAKER_01: 我发现一个圆被平均分成了四份，每份是四分之一。\n"
    "[00:00:20] SPEAKER_00: 你说到了平均分，为什么一定要平均分？谁能说说理由？\n"
    "[00:00:32] SPEAKER_02: 因为不平均分的话，每一份就不一样大，不能用同一个分数表示。\n"
    "[00:00:45] SPEAKER_00: 说得很清楚，抓住了平均分这个关键。\n"
)


def test_teacher_maps_asr_speakers_before_the_upload_is_scored(
    browsing: Browsing, tmp_path: Path, shot: Shot
) -> None:
    export = tmp_path / "语音转写.txt"
    export.write_text(ASR, encoding="utf-8")
    teacher = browsing.open_as(TEACHER)
    teacher.goto("/practice")  # base_url is the served demo
    teacher.get_by_label("课堂实录").check()
    teacher.get_by_label("标题").fill("分数的意义（语音转写）")
    teacher.get_by_label("上传文件").set_input_files(str(export))
    teacher.get_by_role("button", name="提交并分析").click()

    step = teacher.locator("#speaker-form")
    expect(step).to_be_visible()
    expect(teacher.locator("#speaker-step")).to_contain_text("请确认说话人")
    expect(step.locator("tr[data-speaker='SPEAKER_01']")).to_contain_text(
        "我发现一个圆被平均分成了四份"
    )
    expect(teacher.get_by_label("SPEAKER_00 的身份")).to_have_value("师")
    expect(teacher.get_by_label("SPEAKER_02 的身份")).to_have_value("生")
    shot(teacher, "practice-speakers")

    teacher.get_by_label("SPEAKER_02 的身份").select_option("生")
    teacher.get_by_label("SPEAKER_02 的姓名（学生，可不填）").fill("王雨")
    teacher.get_by_label("SPEAKER_01 的身份").select_option("忽略")
    expect(teacher.locator("#speaker-preview")).to_contain_text("忽略")  # htmx preview
    teacher.get_by_label("SPEAKER_01 的身份").select_option("生")
    expect(teacher.locator("#speaker-preview")).to_contain_text("忽略 0%")

    teacher.get_by_role("button", name="确认说话人并分析").click()
    expect(teacher).to_have_url(re.compile(r"/practice/\d+$"))
    main = teacher.locator("main")
    expect(main).to_contain_text("待审核")
    expect(main).to_contain_text("生（王雨）")
    expect(main).not_to_contain_text("SPEAKER_02")
