"""Catalog, live search partial, course page and the enrol → progress → complete journey."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from tests.web.helpers import form_token
from yanxiu.accounts.models import User
from yanxiu.catalog.models import Course, CourseStatus, CourseUnit, Enrolment, QuizQuestion
from yanxiu.credits.models import CreditRecord
from yanxiu.learning.enrolments import course_credit_key
from yanxiu.learning.models import QuizAttempt

HX = {"HX-Request": "true"}


def user_id(site, username: str) -> int:
    with site.factory() as s:
        return s.scalar(select(User.id).where(User.username == username))


def untouched_course(site, username: str) -> Course:
    """A published course the teacher has never enrolled in."""
    with site.factory() as s:
        taken = select(Enrolment.course_id).where(Enrolment.teacher_id == user_id(site, username))
        course = s.scalars(
            select(Course)
            .where(Course.status == CourseStatus.PUBLISHED, Course.id.not_in(taken))
            .order_by(Course.code)
        ).first()
        assert course is not None
        s.expunge(course)
        return course


def credits_for(site, key: str) -> int:
    with site.factory() as s:
        return s.scalar(
            select(func.count(CreditRecord.id)).where(CreditRecord.idempotency_key == key)
        )


def ledger_size(site, teacher_id: int) -> int:
    with site.factory() as s:
        return s.scalar(
            select(func.count(CreditRecord.id)).where(CreditRecord.teacher_id == teacher_id)
        )


def flash_texts(page: str) -> list[str]:
    return re.findall(r'<p class="flash flash-\w+" role="status">([^<]*)</p>', page)


# -- catalog and search ----------------------------------------------------------------------


def test_catalog_page_has_a_labelled_live_search_box_and_filters(demo_site):
    page = demo_site.client("t001").get("/courses")
    assert page.status_code == 200
    text = page.text
    assert '<label for="q">' in text and 'id="q"' in text
    assert 'hx-get="/courses/search"' in text
    assert 'hx-trigger="input changed delay:300ms, search"' in text
    for key in ("stage", "subject", "category", "format"):
        assert f'<label for="f-{key}">' in text and f'name="{key}"' in text
    assert 'id="results"' in text and 'role="status"' in text
    with demo_site.factory() as s:
        published = s.scalar(
            select(func.count(Course.id)).where(Course.status == CourseStatus.PUBLISHED)
        )
    assert f"共 {published} 门已发布课程" in text
    assert text.count('class="course-item"') == 20  # one page
    assert 'href="/courses?page=2"' in text


def test_browsing_pages_and_filters_without_a_query(demo_site):
    client = demo_site.client("t001")
    second = client.get("/courses/search?page=2", headers=HX)
    assert second.status_code == 200 and "第 2 /" in second.text
    assert "<html" not in second.text
    first_codes = re.findall(r'href="/courses/([A-Z0-9-]+)"', client.get("/courses").text)
    second_codes = re.findall(r'href="/courses/([A-Z0-9-]+)"', second.text)
    assert second_codes and not set(first_codes) & set(second_codes)
    filtered = client.get("/courses/search?category=师德师风&format=offline", headers=HX)
    with demo_site.factory() as s:
        expected = s.scalars(
            select(Course.code).where(
                Course.status == CourseStatus.PUBLISHED,
                Course.category == "师德师风",
                Course.format == "offline",
            )
        ).all()
    assert expected
    shown = set(re.findall(r'href="/courses/([A-Z0-9-]+)"', filtered.text))
    assert shown == set(expected)
    # the address bar follows the filters (reload and back keep them)
    assert filtered.headers["HX-Replace-Url"].startswith("/courses?category=")
    # an unknown filter value is ignored rather than matching nothing
    bogus = client.get("/courses/search?stage=大学", headers=HX)
    assert "已发布课程" in bogus.text and "符合筛选条件" not in bogus.text


def test_search_partial_returns_highlighted_hits(demo_site):
    client = demo_site.client("t001")
    response = client.get("/courses/search", params={"q": "课堂提问"}, headers=HX)
    assert response.status_code == 200
    assert "<html" not in response.text  # a fragment for htmx
    assert "<mark>" in response.text
    hits = re.findall(r'<h2 class="course-title"><a href="/courses/([A-Z0-9-]+)">', response.text)
    assert hits and any(code.startswith("TW-") for code in hits[:3])
    assert "学时" in response.text and "课堂提问与对话" in response.text
    assert response.headers["HX-Replace-Url"] == "/courses?q=%E8%AF%BE%E5%A0%82%E6%8F%90%E9%97%AE"
    # filters narrow the hits
    primary = client.get("/courses/search", params={"q": "课堂提问", "stage": "小学"}, headers=HX)
    with demo_site.factory() as s:
        stages = dict(s.execute(select(Course.code, Course.stages)).all())
    for code in re.findall(
        r'<h2 class="course-title"><a href="/courses/([A-Z0-9-]+)">', primary.text
    ):
        assert "小学" in stages[code]


def test_search_escapes_html_in_the_query(demo_site):
    client = demo_site.client("t001")
    evil = '课堂<script>alert("x")</script><img src=x onerror=alert(1)>'
    for response in (
        client.get("/courses/search", params={"q": evil}, headers=HX),
        client.get("/courses", params={"q": evil}),
    ):
        assert response.status_code == 200
        assert "<script>alert" not in response.text and "<img src=x" not in response.text
        assert "&lt;script&gt;" in response.text
    # the query is kept in the search box, escaped
    page = client.get("/courses", params={"q": evil}).text
    assert 'value="课堂&lt;script&gt;' in page


def test_search_that_finds_nothing_says_so(demo_site):
    response = demo_site.client("t001").get(
        "/courses/search", params={"q": "课堂", "category": "师德师风", "format": "hybrid",
                                   "stage": "幼儿园", "subject": "物理"}, headers=HX,
    )  # fmt: skip
    assert response.status_code == 200
    assert "没有找到" in response.text


# -- the course page ---------------------------------------------------------------------------


def test_course_page_shows_prerequisites_with_mastery_and_what_it_unlocks(demo_site):
    client = demo_site.client("t001")
    page = client.get("/courses/SD-006")  # needs SD-002, which t001 completed
    assert page.status_code == 200
    text = page.text
    assert "师德失范典型案例警示教育" in text and "先修课程" in text
    assert re.search(
        r'href="/courses/SD-002">[^<]+</a>\s*<span class="badge ok">已完成</span>', text
    )
    unlocking = client.get("/courses/SD-002").text
    assert 'href="/courses/SD-006"' in unlocking and "学完后可以继续学习" in unlocking
    missing = client.get("/courses/BZR-002").text  # needs BZR-001, not started by t001
    assert re.search(
        r'href="/courses/BZR-001">[^<]+</a>\s*<span class="badge ">未学习</span>', missing
    )
    assert 'action="/courses/BZR-002/enrol"' in missing
    api = client.get("/api/v1/courses/BZR-002").json()
    assert api["prerequisites"] == [{"code": "BZR-001", "title": api["prerequisites"][0]["title"],
                                     "status": "not_started"}]  # fmt: skip
    completed = client.get("/courses/SD-001").text
    assert "已完成" in completed and "已计入学时" in completed


def test_unknown_and_draft_courses_are_not_found_for_teachers(demo_site):
    client = demo_site.client("t001")
    assert client.get("/courses/NOPE-404").status_code == 404
    with demo_site.factory() as s:
        draft = s.scalar(select(Course.code).where(Course.status == CourseStatus.DRAFT))
    assert client.get(f"/courses/{draft}").status_code == 404
    assert demo_site.client("admin").get(f"/courses/{draft}").status_code == 200


def test_non_teachers_read_courses_but_cannot_enrol(demo_site):
    trainer = demo_site.client("trainer.linjiang")
    page = trainer.get("/courses/SD-001")
    assert page.status_code == 200 and "/enrol" not in page.text and "报名学习" not in page.text
    token = form_token(page.text)
    for action in ("enrol", "complete", "quiz"):
        refused = trainer.post(f"/courses/SD-001/{action}", data={"csrf_token": token})
        assert refused.status_code == 403
    api = trainer.post("/api/v1/courses/SD-001/enrol", headers={"X-CSRF-Token": token})
    assert api.status_code == 403
    with demo_site.factory() as s:
        assert not s.scalar(
            select(func.count(Enrolment.id)).where(
                Enrolment.teacher_id == user_id(demo_site, "trainer.linjiang")
            )
        )


# -- enrol → study → quiz → credited once ------------------------------------------------------


def text_only_lesson_course(site, username: str) -> Course:
    """A published course with only text/PDF units the teacher has never enrolled in."""
    with site.factory() as s:
        taken = select(Enrolment.course_id).where(Enrolment.teacher_id == user_id(site, username))
        media = select(CourseUnit.course_id).where(CourseUnit.kind.in_(["video", "audio"]))
        course = s.scalars(
            select(Course)
            .where(Course.status == CourseStatus.PUBLISHED, Course.id.not_in(taken),
                   Course.id.in_(select(CourseUnit.course_id)), Course.id.not_in(media))
            .order_by(Course.code)
        ).first()  # fmt: skip
        assert course is not None
        s.expunge(course)
        return course


def paper_answers(site, attempt_id: int, *, right: bool) -> dict[str, list[str]]:
    with site.factory() as s:
        attempt = s.get(QuizAttempt, attempt_id)
        fields: dict[str, list[str]] = {}
        for item in attempt.paper:
            answer = s.get(QuizQuestion, item["q"]).answer
            shown = [item["order"].index(i) for i in answer]
            if not right:
                shown = [next(p for p in range(len(item["order"])) if p not in shown)]
            fields[f"q{item['q']}"] = [str(p) for p in shown]
        return fields


def test_a_course_is_credited_once_after_its_units_and_quiz_never_at_zero(fresh_site):
    client = fresh_site.client("t001")
    tid = user_id(fresh_site, "t001")
    course = text_only_lesson_course(fresh_site, "t001")
    key = course_credit_key(tid, course.code)
    records = ledger_size(fresh_site, tid)
    page = client.get(f"/courses/{course.code}")
    token = form_token(page.text)
    headers = {"X-CSRF-Token": token}
    enrolled = client.post(f"/courses/{course.code}/enrol", data={"csrf_token": token})
    assert "报名成功" in enrolled.text and "计入" in enrolled.text and "还需要" in enrolled.text

    at_zero = client.post(f"/courses/{course.code}/complete", data={"csrf_token": token})
    assert any("尚不能计入学时" in t for t in flash_texts(at_zero.text))
    assert credits_for(fresh_site, key) == 0

    with fresh_site.factory() as s:
        unit_ids = list(s.scalars(select(CourseUnit.id).where(CourseUnit.course_id == course.id,
                                                              CourseUnit.retired.is_(False))))  # fmt: skip
    for unit_id in unit_ids:
        unit_page = client.get(f"/courses/{course.code}/units/{unit_id}")
        assert unit_page.status_code == 200 and 'src="/static/js/study.js"' in unit_page.text
        base = f"/api/v1/courses/{course.code}/units/{unit_id}"
        assert client.post(f"{base}/opened", headers=headers).status_code == 204
        assert client.post(f"{base}/end", headers=headers).json()["unit_completed"] is True
    assert credits_for(fresh_site, key) == 0  # the quiz is still missing

    failed_start = client.post(f"/courses/{course.code}/quiz", data={"csrf_token": token},
                               follow_redirects=False)  # fmt: skip
    attempt_id = int(failed_start.headers["location"].rsplit("/", 1)[1])
    failed = client.post(f"/courses/{course.code}/quiz/{attempt_id}",
                data={"csrf_token": token, **paper_answers(fresh_site, attempt_id, right=False)})  # fmt: skip
    assert any("未计入学时" in t for t in flash_texts(failed.text))
    assert credits_for(fresh_site, key) == 0  # a failed quiz credits nothing

    start = client.post(f"/courses/{course.code}/quiz", data={"csrf_token": token},
                        follow_redirects=False)  # fmt: skip
    attempt_id = int(start.headers["location"].rsplit("/", 1)[1])
    passed = client.post(f"/courses/{course.code}/quiz/{attempt_id}",
                         data={"csrf_token": token, **paper_answers(fresh_site, attempt_id, right=True)})  # fmt: skip
    assert any(f"已计入学时 {course.hours:g}" in t for t in flash_texts(passed.text))
    assert credits_for(fresh_site, key) == 1
    again = client.post(f"/courses/{course.code}/complete", data={"csrf_token": token})
    assert "不重复计入" in again.text
    assert credits_for(fresh_site, key) == 1 and ledger_size(fresh_site, tid) == records + 1
    rated = client.post(f"/courses/{course.code}/rate", data={"csrf_token": token, "rating": "5"})
    assert "5 星" in rated.text and "我的评价" in rated.text


def test_refused_actions_explain_in_chinese_and_write_nothing(fresh_site):
    client = fresh_site.client("t001")
    tid = user_id(fresh_site, "t001")
    course = untouched_course(fresh_site, "t001")
    token = form_token(client.get(f"/courses/{course.code}").text)
    records = ledger_size(fresh_site, tid)

    early = client.post(f"/courses/{course.code}/complete", data={"csrf_token": token})
    assert "请先报名" in " ".join(flash_texts(early.text))
    assert ledger_size(fresh_site, tid) == records
    with fresh_site.factory() as s:
        assert (
            s.scalar(
                select(func.count(Enrolment.id)).where(
                    Enrolment.teacher_id == tid, Enrolment.course_id == course.id
                )
            )
            == 0
        )  # no enrolment was created on the side
    client.post(f"/courses/{course.code}/enrol", data={"csrf_token": token})
    refused = client.post(f"/courses/{course.code}/complete", data={"csrf_token": token})
    assert any("尚不能计入学时" in t for t in flash_texts(refused.text))
    missing_token = client.post(f"/courses/{course.code}/complete")
    assert missing_token.status_code == 403
    assert ledger_size(fresh_site, tid) == records
    assert client.post("/courses/NOPE-1/enrol", data={"csrf_token": token}).status_code == 404


def test_the_api_refuses_to_complete_an_offline_course_and_says_check_in(fresh_site):
    """The issue's report: enrol in BZR-003 then /complete credited 8 offline hours."""
    client = fresh_site.client("t002")
    tid = user_id(fresh_site, "t002")
    token = form_token(client.get("/courses").text)
    headers = {"X-CSRF-Token": token}
    records = ledger_size(fresh_site, tid)
    assert client.post("/api/v1/courses/BZR-003/enrol").status_code == 403  # no CSRF
    enrolled = client.post("/api/v1/courses/BZR-003/enrol", headers=headers).json()
    assert enrolled["status"] in ("enrolled", "completed")
    refused = client.post("/api/v1/courses/BZR-003/complete", headers=headers)
    if enrolled["status"] == "enrolled":
        assert refused.status_code == 409
        assert "签到" in refused.json()["detail"] and "不能自行标记完成" in refused.json()["detail"]
    assert ledger_size(fresh_site, tid) == records
    page = client.get("/courses/BZR-003")
    assert 'href="/checkin"' in page.text or enrolled["status"] == "completed"
    detail = client.get("/api/v1/courses/BZR-003").json()
    assert detail["enrolment"]["status"] == enrolled["status"]


def test_the_catalog_filters_are_one_parameter_list_for_pages_and_api(demo_site):
    client = demo_site.client("t001")
    with demo_site.factory() as s:
        published = s.scalar(
            select(func.count(Course.id)).where(Course.status == CourseStatus.PUBLISHED)
        )
    # an unknown value is ignored, as on the page; the page number is bounded
    assert client.get("/api/v1/courses", params={"stage": "大学"}).json()["total"] == published
    assert client.get("/api/v1/courses", params={"page": 0}).status_code == 422
    assert client.get("/courses", params={"page": 10_001}).status_code == 422
    # browsing and searching both keep their page in the address bar (search is paginated)
    second = client.get("/courses/search", params={"page": 2, "format": "online"}, headers=HX)
    assert second.headers["HX-Replace-Url"] == "/courses?format=online&page=2"
    search = client.get("/courses/search", params={"page": 2, "q": "作业"}, headers=HX)
    assert search.headers["HX-Replace-Url"] == "/courses?q=%E4%BD%9C%E4%B8%9A&page=2"
    assert client.get("/courses/search", headers=HX).headers["HX-Replace-Url"] == "/courses"


def test_a_question_outside_the_catalog_says_where_it_belongs(fresh_site, monkeypatch):
    # the search decides (tests/search: 绩效工资 is nearer 教师工资… than any course, with e5);
    # here: what it decides reaches the teacher's page and the API
    from yanxiu.search.hybrid import CatalogSearch, SearchResult

    topic = "教师工资、绩效工资、津贴补贴和生活补助的发放标准"

    def nothing_but_a_topic(self, query, **kwargs):  # type: ignore[no-untyped-def]
        return SearchResult(self.parser.parse(query), [], 0.9, 0.05, topic)

    monkeypatch.setattr(CatalogSearch, "find", nothing_but_a_topic)
    client = fresh_site.client("t001")
    page = client.get("/courses/search", params={"q": "绩效工资怎么算"}, headers=HX).text
    assert "没有找到合适的课程" in page and f"这个问题更接近“{topic}”" in page
    api = client.get("/api/v1/search", params={"q": "绩效工资怎么算"}).json()
    assert api["no_match"] is True and api["outside_scope"] == topic
