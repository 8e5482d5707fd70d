"""The shipped content is valid and complete; broken content is refused with precise errors."""

import shutil
import struct
import wave
from collections import Counter
from pathlib import Path

import pytest
import yaml

from yanxiu.catalog.schema import CATEGORIES, find_cycle
from yanxiu.config import PROJECT_ROOT
from yanxiu.content import load_content
from yanxiu.errors import InputError


def test_shipped_catalog_is_large_covers_every_category_and_is_a_dag(content):
    assert len(content.resources) >= 200
    by_category = Counter(r.category for r in content.resources)
    assert set(by_category) == set(CATEGORIES)
    assert find_cycle({r.id: r.prerequisites for r in content.resources}) is None
    assert sum(1 for r in content.resources if r.prerequisites) >= 40
    stages = Counter(s for r in content.resources if r.category == "学科教学" for s in r.stages)
    assert all(stages[s] >= 10 for s in ("小学", "初中", "高中"))
    subjects = {s for r in content.resources for s in r.subjects}
    assert {"语文", "数学", "英语", "物理", "化学", "生物"} <= subjects
    assert {f for r in content.resources for f in [r.format]} == {"online", "offline", "hybrid"}


def test_new_teachers_have_at_least_an_induction_requirement_worth_of_courses(content, policy):
    induction = [
        r for r in content.resources if r.category == "新教师入职" and r.status == "published"
    ]
    assert sum(r.hours for r in induction) + 30 >= policy.induction_hours


def test_every_resource_lists_three_to_six_teacher_problems(content):
    """典型困惑 (issue 21): the problems each resource helps with, in teachers' words."""
    for r in content.resources:
        assert 3 <= len(r.problems) <= 6, r.id
        assert len(set(r.problems)) == len(r.problems), r.id
        for p in r.problems:
            assert 4 <= len(p) <= 40 and not p.endswith("。"), (r.id, p)
    everything = [p for r in content.resources for p in r.problems]
    assert len(everything) == len(set(everything))  # written per course, not copied


def test_shipped_cases_cover_each_studio_and_kind(content):
    assert len(content.cases) >= 40
    kinds = Counter(c.kind for c in content.cases)
    assert kinds["transcript"] >= 15 and kinds["lesson_plan"] >= 5 and kinds["reflection"] >= 5
    assert len({c.studio for c in content.cases}) == 6


def test_text_is_chinese_not_placeholder(content):
    for r in content.resources:
        assert "lorem" not in (r.title + r.summary).lower()
        assert sum("\u4e00" <= ch <= "\u9fff" for ch in r.summary) >= 10, r.id


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(PROJECT_ROOT / "content", target)
    return target


def edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def problems_of(content_dir: Path) -> list[str]:
    with pytest.raises(InputError) as err:
        load_content(content_dir)
    return [str(p) for p in err.value.problems]


def test_error_names_file_item_and_problem_for_a_bad_category(content_copy):
    edit_yaml(
        content_copy / "catalog" / "ethics.yaml",
        lambda d: d["resources"][0].update(category="烹饪"),
    )
    (msg,) = problems_of(content_copy)
    assert msg.startswith("ethics.yaml item 1 [SD-001]: category")
    assert "烹饪" in msg


def test_all_problems_are_reported_at_once(content_copy):
    def break_many(d):
        d["resources"][0]["prerequisites"] = ["SD-999"]
        d["resources"][1]["competencies"] = ["NOPE"]
        d["resources"][2]["id"] = d["resources"][3]["id"]
        del d["resources"][4]["title"]

    edit_yaml(content_copy / "catalog" / "ethics.yaml", break_many)
    msgs = "\n".join(problems_of(content_copy))
    assert "prerequisite SD-999 does not exist" in msgs
    assert "unknown competency id(s) ['NOPE']" in msgs
    assert "duplicate id" in msgs
    assert "title: Field required" in msgs


def test_a_prerequisite_cycle_is_reported_with_its_path(content_copy):
    def cycle(d):
        a, b = d["resources"][0], d["resources"][1]
        a["prerequisites"], b["prerequisites"] = [b["id"]], [a["id"]]

    edit_yaml(content_copy / "catalog" / "ethics.yaml", cycle)
    msgs = "\n".join(problems_of(content_copy))
    assert "prerequisite cycle: SD-001 → SD-002 → SD-001" in msgs


def test_broken_yaml_and_a_bad_transcript_line_are_located(content_copy):
    (content_copy / "catalog" / "zz_broken.yaml").write_text(
        "resources: [\n  - id: X", encoding="utf-8"
    )
    cases = sorted((content_copy / "cases").glob("*.yaml"))[0]

    def bad_line(d):
        transcript = next(c for c in d["cases"] if c["kind"] == "transcript")
        transcript["body"] = transcript["body"] + "老师说了一句没有时间戳的话\n"

    edit_yaml(cases, bad_line)
    msgs = "\n".join(problems_of(content_copy))
    assert "zz_broken.yaml: cannot be read as UTF-8 YAML" in msgs
    assert f"{cases.name} item" in msgs and "is not '[hh:mm:ss] 师：…'" in msgs


def test_policy_problems_name_the_file(content_copy):
    edit_yaml(content_copy / "policies" / "GX.yaml", lambda d: d.update(ethics_minimum=400))
    msgs = "\n".join(problems_of(content_copy))
    assert "GX.yaml [GX]" in msgs and "exceed total_hours" in msgs


# -- lesson media: real files of the length their units declare, and small ---------------------

MEDIA = PROJECT_ROOT / "content" / "lessons" / "media"


def _ebml_number(data: bytes, pos: int, *, marker: bool) -> tuple[int, int]:
    """An EBML variable-length number at ``pos`` (an element id keeps its length marker)."""
    length = 9 - data[pos].bit_length()
    value = data[pos] if marker else data[pos] & ((1 << (8 - length)) - 1)
    for byte in data[pos + 1 : pos + length]:
        value = value << 8 | byte
    return value, pos + length


def webm_seconds(path: Path) -> float:
    """The duration a WebM file's Segment Info states (TimecodeScale × Duration)."""
    data = path.read_bytes()[:65536]
    pos, end, scale = 0, len(data), 1_000_000
    while pos < end:
        element, pos = _ebml_number(data, pos, marker=True)
        size, pos = _ebml_number(data, pos, marker=False)
        if element in (0x18538067, 0x1549A966):  # Segment, Info: look inside
            continue
        if element == 0x2AD7B1:  # TimecodeScale (ns per tick)
            scale = int.from_bytes(data[pos : pos + size], "big")
        elif element == 0x4489:  # Duration (float, in ticks)
            ticks = struct.unpack(">d" if size == 8 else ">f", data[pos : pos + size])[0]
            return ticks * scale / 1e9
        pos += size
    raise AssertionError(f"{path.name}: no Duration in the Segment Info")


def media_seconds(path: Path) -> float:
    if path.suffix == ".wav":
        with wave.open(str(path)) as w:
            return w.getnframes() / w.getframerate()
    return webm_seconds(path)


def test_media_units_declare_the_length_of_their_files(content):
    """The 90 % a video or audio needs is of its declared duration: it must be the file's."""
    media = [(lesson.course, u) for lesson in content.lessons for u in lesson.units
             if u.kind in ("video", "audio")]  # fmt: skip
    kinds = Counter(u.kind for _, u in media)
    assert kinds["video"] >= 3 and kinds["audio"] >= 2
    for course, unit in media:
        path = MEDIA / unit.file
        assert path.suffix == (".webm" if unit.kind == "video" else ".wav"), (course, unit.key)
        assert abs(media_seconds(path) - unit.duration) <= 0.25, (course, unit.key)
    courses_with = {k: {c for c, u in media if u.kind == k} for k in kinds}
    pdf_courses = {lesson.course for lesson in content.lessons
                   if any(u.kind == "document" for u in lesson.units)}  # fmt: skip
    assert len(courses_with["video"] & pdf_courses) >= 2  # text + PDF + video courses


def test_lesson_media_stay_small():
    sizes = {p.name: p.stat().st_size for p in MEDIA.iterdir()}
    assert all(size <= 300 * 1024 for size in sizes.values()), sizes
    assert sum(sizes.values()) <= 2 * 1024 * 1024
