"""Course authoring pages: a trainer writes a course, publishes it, and a teacher sees it."""

from __future__ import annotations

from tests.web.helpers import form_token

TEXT = "## 第一单元\n\n" + "课堂上先听学生把话说完，再回应他的想法。" * 5


def test_a_trainer_writes_and_publishes_a_course_a_teacher_then_studies(fresh_site):
    trainer = fresh_site.client("trainer.linjiang")
    page = trainer.get("/authoring")
    assert page.status_code == 200 and "新建草稿" in page.text
    token = form_token(page.text)
    created = trainer.post("/authoring/courses", data={
        "csrf_token": token, "code": "TW-901", "title": "倾听与回应：课堂对话微课程",
        "summary": "用三个短单元练习倾听学生、回应学生。", "category": "课堂提问与对话",
        "hours": "2", "format": "online", "provider": "临江区教师发展中心",
    })  # fmt: skip
    assert "已新建草稿课程 TW-901" in created.text
    refused = trainer.post("/authoring/courses/TW-901/status",
                           data={"csrf_token": token, "status": "published"})  # fmt: skip
    assert "至少需要一个学习单元" in refused.text
    bad = trainer.post("/authoring/courses/TW-901/units",
                       data={"csrf_token": token, "kind": "document", "title": "讲义"},
                       files={"file": ("x.pdf", b"<script>alert(1)</script>", "application/pdf")})  # fmt: skip
    assert "文件类型不符" in bad.text
    trainer.post("/authoring/courses/TW-901/units",
                 data={"csrf_token": token, "kind": "text", "title": "先听完", "body": TEXT})  # fmt: skip
    pdf = trainer.post("/authoring/courses/TW-901/units",
                       data={"csrf_token": token, "kind": "document", "title": "讲义"},
                       files={"file": ("handout.pdf", b"%PDF-1.4\n%%EOF", "application/pdf")})  # fmt: skip
    assert "已添加学习单元" in pdf.text and "讲义" in pdf.text
    question = trainer.post("/authoring/courses/TW-901/questions", data={
        "csrf_token": token, "kind": "true_false", "stem": "学生说完之前就打断并纠正，是好的回应。",
        "options": "", "answer": "错误",
    })  # fmt: skip
    assert "已添加测验题" in question.text
    published = trainer.post("/authoring/courses/TW-901/status",
                             data={"csrf_token": token, "status": "published"})  # fmt: skip
    assert "课程已发布" in published.text and "v1" in published.text
    teacher = fresh_site.client("t112")
    course = teacher.get("/courses/TW-901")
    assert course.status_code == 200 and "先听完" in course.text and "讲义" in course.text
    assert teacher.get("/authoring").status_code == 403
    revised = trainer.post("/authoring/courses/TW-901", data={
        "csrf_token": token, "title": "倾听与回应：课堂对话微课程（修订）",
        "summary": "用三个短单元练习倾听学生、回应学生。", "category": "课堂提问与对话", "hours": "3",
    })  # fmt: skip
    assert "课程信息已保存" in revised.text and "v2" in revised.text
    imported = trainer.post(
        "/authoring/courses/TW-901/import", data={"csrf_token": token},
        files={"file": ("lesson.yaml", b"units: [{key: u1, kind: text, title: x}]", "text/yaml")},
    )  # fmt: skip
    assert "导入文件有误" in imported.text
