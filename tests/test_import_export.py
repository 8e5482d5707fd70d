"""`import catalog` is all-or-nothing with row errors; ledger exports carry what a credit bank needs."""

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.factories import make_teacher
from yanxiu.catalog.models import Course
from yanxiu.catalog.service import (
    import_catalog_file,
    prerequisite_graph,
    sync_competencies,
    sync_courses,
)
from yanxiu.credits.export import iso_duration, ledger_csv, xapi_statements
from yanxiu.credits.ledger import credit_hours, ledger_entries, replace_record
from yanxiu.credits.models import CreditSource
from yanxiu.errors import InputError

HEADER = "id,title,summary,outline,category,stages,subjects,hours,format,prerequisites,competencies,provider,status\n"
GOOD_A = "IMP-001,课堂提问的基本策略,面向初中教师的课堂提问基本策略课程。,问题类型；候答时间,课堂提问与对话,初中,通用,4,online,,PRC-QUES,县教师发展中心,published\n"
GOOD_B = "IMP-002,问题链设计进阶,在基本策略之上设计问题链的进阶课程。,问题链；追问,课堂提问与对话,初中;高中,数学,6,hybrid,IMP-001,PRC-QUES;PRC-THINK,县教师发展中心,published\n"


@pytest.fixture
def loaded(session, content):
    sync_competencies(session, content.competencies)
    sync_courses(session, content.resources[:20], origin="content:catalog")
    session.commit()
    return session


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def course_count(session):
    return session.scalar(select(func.count(Course.id)))


def test_csv_import_creates_resources_with_prerequisites(loaded, tmp_path):
    counts = import_catalog_file(loaded, write(tmp_path, "new.csv", HEADER + GOOD_A + GOOD_B))
    loaded.commit()
    assert counts.created == 2
    assert prerequisite_graph(loaded)["IMP-002"] == ["IMP-001"]
    row = loaded.scalar(select(Course).where(Course.code == "IMP-002"))
    assert (
        row.stages == ["初中", "高中"]
        and row.competencies == ["PRC-QUES", "PRC-THINK"]
        and row.hours == 6
    )


def test_bad_rows_are_all_reported_by_row_number_and_nothing_is_written(loaded, tmp_path):
    before = course_count(loaded)
    bad_hours = GOOD_A.replace("IMP-001", "IMP-003").replace(",4,", ",abc,")
    bad_category = GOOD_A.replace("IMP-001", "IMP-004").replace("课堂提问与对话", "烹饪")
    dangling = GOOD_B.replace("IMP-002", "IMP-005").replace(",IMP-001,", ",IMP-404,")
    path = write(tmp_path, "bad.csv", HEADER + GOOD_A + bad_hours + bad_category + dangling)
    with pytest.raises(InputError) as err:
        import_catalog_file(loaded, path)
    loaded.rollback()
    text = str(err.value)
    assert "nothing was imported" in text
    assert "bad.csv row 3 [IMP-003]: hours" in text
    assert "bad.csv row 4 [IMP-004]: category" in text
    assert "bad.csv row 5 [IMP-005]: prerequisite IMP-404 does not exist" in text
    assert course_count(loaded) == before  # the good row 2 was not written either


def test_import_refuses_a_cycle_through_existing_resources(loaded, tmp_path):
    import_catalog_file(loaded, write(tmp_path, "a.csv", HEADER + GOOD_A + GOOD_B))
    loaded.commit()
    looped = GOOD_A.replace(",,PRC-QUES", ",IMP-002,PRC-QUES")
    with pytest.raises(InputError, match="cycle: IMP-001 → IMP-002 → IMP-001"):
        import_catalog_file(loaded, write(tmp_path, "b.csv", HEADER + looped))


def test_json_and_yaml_imports_and_file_level_errors(loaded, tmp_path):
    item = {
        "id": "IMP-010", "title": "作业设计的分层策略", "summary": "分层作业设计的方法与案例。", "outline": ["分层"],
        "category": "作业设计与双减", "stages": ["小学"], "subjects": ["通用"], "hours": 3, "format": "online",
        "competencies": ["PRC-HOMEWORK"], "provider": "县教研室",
    }  # fmt: skip
    assert (
        import_catalog_file(
            loaded, write(tmp_path, "a.json", json.dumps([item], ensure_ascii=False))
        ).created
        == 1
    )
    item2 = dict(item, id="IMP-011", hours=3.3)
    with pytest.raises(InputError, match=r"b.yaml item 1 \[IMP-011\]: hours"):
        import_catalog_file(
            loaded,
            write(tmp_path, "b.yaml", json.dumps({"resources": [item2]}, ensure_ascii=False)),
        )
    with pytest.raises(InputError, match="c.json: cannot be parsed"):
        import_catalog_file(loaded, write(tmp_path, "c.json", "[{"))
    with pytest.raises(InputError, match="header row"):
        import_catalog_file(loaded, write(tmp_path, "d.csv", "title,hours\nx,1\n"))
    gbk = tmp_path / "e.csv"
    gbk.write_bytes((HEADER + GOOD_A).encode("gbk"))
    with pytest.raises(InputError, match="not UTF-8"):
        import_catalog_file(loaded, gbk)


def test_reimporting_the_same_file_changes_nothing(loaded, tmp_path):
    path = write(tmp_path, "a.csv", HEADER + GOOD_A)
    import_catalog_file(loaded, path)
    assert import_catalog_file(loaded, path).unchanged == 1


def _ledger(session, policy):
    t = make_teacher(session)
    course_key = f"course:{t.id}:SD-001"
    r1, _ = credit_hours(
        session, policy=policy, teacher_id=t.id, source=CreditSource.ONLINE, category="师德师风", hours=6.5,
        earned_on=date(2025, 3, 1), title="十项准则解读", idempotency_key=course_key, evidence={"course": "SD-001"},
    )  # fmt: skip
    r2, _ = credit_hours(
        session, policy=policy, teacher_id=t.id, source=CreditSource.OFFLINE, category="学科教学", hours=60,
        earned_on=date(2025, 4, 1), title="集中面授", idempotency_key="attendance:1:1", evidence={"session": 1},
    )  # fmt: skip
    r3 = replace_record(
        session, policy=policy, record_id=r2.id, reason="学时录入错误", actor_id=None, hours=6
    )
    session.commit()
    people = {t.id: (t.username, t.display_name, "测试学校")}
    return t, ledger_entries(session, [t.id]), people, (r1, r2, r3)


def test_xapi_statements_carry_the_required_fields(session, policy):
    t, entries, people, (r1, r2, r3) = _ledger(session, policy)
    statements = list(xapi_statements(entries, people, home_page="http://yanxiu.local/"))
    assert len(statements) == 2  # the voided record is not exported
    by_verb = {s["verb"]["id"]: s for s in statements}
    completed = by_verb["http://adlnet.gov/expapi/verbs/completed"]
    attended = by_verb["http://adlnet.gov/expapi/verbs/attended"]
    assert completed["actor"]["account"] == {"homePage": "http://yanxiu.local", "name": t.username}
    assert completed["result"]["duration"] == "PT6H30M"
    assert (
        completed["result"]["extensions"]["http://yanxiu.local/xapi/extensions/credited-hours"]
        == 6.5
    )
    assert completed["object"]["id"] == "http://yanxiu.local/activities/course/SD-001"
    assert attended["result"]["duration"] == "PT6H"
    assert attended["timestamp"].startswith("2025-04-01")
    again = list(xapi_statements(entries, people, home_page="http://yanxiu.local/"))
    assert [s["id"] for s in again] == [
        s["id"] for s in statements
    ]  # stable ids for de-duplication


def test_ledger_csv_lists_voided_records_with_their_reason(session, policy):
    _, entries, people, (r1, r2, r3) = _ledger(session, policy)
    rows = list(csv.DictReader(io.StringIO(ledger_csv(entries, people).lstrip("\ufeff"))))
    by_id = {int(r["record_id"]): r for r in rows}
    assert by_id[r2.id]["voided"] == "yes" and by_id[r2.id]["void_reason"] == "学时录入错误"
    assert by_id[r3.id]["replaces_id"] == str(r2.id) and by_id[r3.id]["hours"] == "6"


@pytest.mark.parametrize(
    ("hours", "expected"), [(6, "PT6H"), (0.5, "PT30M"), (1.25, "PT1H15M"), (0, "PT0S")]
)
def test_iso_durations(hours, expected):
    assert iso_duration(hours) == expected
