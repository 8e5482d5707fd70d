"""Every route, every role: the answer each one gets is the one the table says.

``WALK`` lists every (method, path) the app serves and who may use it. The walk requests each
route as anonymous, teacher, host, trainer and admin, with path parameters filled from the demo
(records the role may see), and checks the answer class: allowed, 403, or "log in first"
(HTML: 303 to /login; API: 401). ``DENIED`` then asks for records that belong to someone else
(another county's teacher, another studio's push …): always 403.

A route missing from ``WALK`` fails the test, so a new page cannot escape the walk. POSTs send a
valid CSRF token (header) and harmless bodies, against a private copy of the demo.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from tests.conftest import copy_sqlite
from tests.web.conftest import Site, site_settings
from tests.web.helpers import login
from yanxiu.accounts.models import Role, School, User
from yanxiu.catalog.models import Course, CourseUnit
from yanxiu.config import PROJECT_ROOT
from yanxiu.credits.certificates import issue_certificate
from yanxiu.credits.claim_models import ClaimEvidence
from yanxiu.credits.claims import ClaimDraft, submit_claim
from yanxiu.credits.evidence import Upload, evidence_dir
from yanxiu.credits.policy import load_policies
from yanxiu.jobs import job_handler
from yanxiu.learning.course import enrol_teacher
from yanxiu.learning.quiz import start_attempt
from yanxiu.notifications.models import Notification, NotificationKind
from yanxiu.notifications.service import notify
from yanxiu.practice.models import RecordKind
from yanxiu.practice.service import submit_record
from yanxiu.programs.models import OfflineSession, Program
from yanxiu.studios.models import CaseResource, Push, PushDelivery, Studio, StudioMember
from yanxiu.web.security import COOKIE_NAME, csrf_for

ANON, TEACHER, HOST, TRAINER, ADMIN = "anonymous", "teacher", "host", "trainer", "admin"
ROLES = (ANON, TEACHER, HOST, TRAINER, ADMIN)
SIGNED_IN = (TEACHER, HOST, TRAINER, ADMIN)
# The walk's users: the teacher works in 临江区 (the trainer's county); the admin is scoped to
# 白石县, so 临江区 records are "someone else's" for the admin.
USERS = {HOST: "host.zhoumin", TRAINER: "trainer.linjiang", ADMIN: "admin.baishi"}

ALLOWED, FORBIDDEN, LOGIN, PUBLIC_OK = "allowed", "403", "login", "allowed"


@dataclass(frozen=True)
class Rule:
    """Who may use a route; ``query``/``data`` make a request that reaches the handler."""

    roles: tuple[str, ...]
    query: str = ""
    data: dict[str, Any] | None = None
    ok: tuple[int, ...] = ()  # statuses that count as "allowed" (default by method)
    fresh_login: bool = False  # the request ends the session (logout)

    def expected(self, role: str) -> str:
        if role in self.roles:
            return ALLOWED
        return LOGIN if role == ANON else FORBIDDEN


def only(*roles: str, **kw: Any) -> Rule:
    return Rule(tuple(roles), **kw)


def public(**kw: Any) -> Rule:
    return Rule(ROLES, **kw)


ANY = SIGNED_IN
VIEWERS = (TEACHER, TRAINER, ADMIN)
REVIEWERS = (TRAINER, ADMIN)
READERS = (TEACHER, HOST)

# (method, path template) → rule. Keep in step with app.routes: the walk fails on any route
# that is not listed here (and on any entry that no longer exists).
WALK: dict[tuple[str, str], Rule] = {
    # -- public: the landing page, login, health, API docs
    ("GET", "/"): public(ok=(200, 303)),
    ("GET", "/login"): public(ok=(200, 303)),
    ("POST", "/login"): public(data={"username": "nobody", "password": "x"}, ok=(401,)),
    ("POST", "/logout"): public(ok=(303,), fresh_login=True),
    ("GET", "/api/v1/health"): public(),
    ("GET", "/api/v1/openapi.json"): public(),
    ("GET", "/api/docs"): public(),
    ("GET", "/api/v1/search"): only(*ANY, query="q=课堂提问"),
    ("GET", "/api/v1/teachers/{teacher}/path"): only(*VIEWERS),
    # -- teacher workspace
    ("GET", "/teacher"): only(TEACHER),
    ("GET", "/teacher/path"): only(TEACHER),
    ("GET", "/teacher/export"): only(TEACHER),
    ("GET", "/api/v1/me/compliance"): only(TEACHER),
    ("GET", "/teacher/ledger"): only(TEACHER, query="year=1&category=师德师风&page=1"),
    # -- hour claims (the teacher's) and their review (staff in scope)
    ("GET", "/claims"): only(TEACHER),
    ("GET", "/claims/new"): only(TEACHER),
    ("POST", "/claims"): only(TEACHER),
    ("GET", "/claims/{claim_id}"): only(*VIEWERS),
    ("POST", "/claims/{claim_id}/resubmit"): only(TEACHER),
    ("GET", "/claims/{claim_id}/evidence/{evidence_id}"): only(*VIEWERS),
    ("POST", "/claims/{claim_id}/decision"): only(*REVIEWERS),
    ("GET", "/review/claims"): only(*REVIEWERS),
    # -- 学时证明 (the teacher's; staff in scope may download one) and its verification (admin)
    ("GET", "/teacher/certificates"): only(TEACHER),
    ("POST", "/teacher/certificates"): only(TEACHER, data={"period": "cycle"}),
    ("GET", "/certificates/{certificate_id}/pdf"): only(*VIEWERS),
    ("GET", "/admin/certificates"): only(ADMIN, query="code=ABCD-EFGH-JKLM-NPQR-STUV"),
    ("POST", "/api/v1/claims/{claim_id}/decision"): only(*REVIEWERS),
    # -- a teacher's record, for staff in scope
    ("GET", "/people/teachers/{teacher_id}"): only(*REVIEWERS),
    ("GET", "/people/teachers/{teacher_id}/path"): only(*REVIEWERS),
    # -- everyone's messages (each role opens a notification of its own)
    ("GET", "/notifications"): only(*ANY),
    ("POST", "/notifications/{notification_id}/open"): only(*ANY),
    ("POST", "/notifications/read-all"): only(*ANY),
    ("GET", "/api/v1/me/notifications"): only(*ANY, query="unread=true"),
    ("POST", "/api/v1/me/notifications/{notification_id}/read"): only(*ANY),
    # -- catalog
    ("GET", "/courses"): only(*ANY),
    ("GET", "/courses/search"): only(*ANY, query="q=作业设计"),
    ("GET", "/courses/{code}"): only(*ANY),
    ("POST", "/courses/{code}/enrol"): only(TEACHER),
    ("POST", "/courses/{code}/complete"): only(TEACHER),
    ("GET", "/courses/{code}/units/{unit_id}"): only(*ANY),
    ("GET", "/courses/{code}/units/{unit_id}/media"): only(TEACHER, TRAINER, ADMIN),
    ("POST", "/api/v1/courses/{code}/units/{unit_id}/opened"): only(TEACHER, ok=(204,)),
    ("POST", "/api/v1/courses/{code}/units/{unit_id}/end"): only(TEACHER),
    ("POST", "/api/v1/courses/{code}/units/{unit_id}/position"): only(
        TEACHER, data={"position": 0}
    ),
    ("POST", "/courses/{code}/quiz"): only(TEACHER),
    ("GET", "/courses/{code}/quiz/{attempt_id}"): only(TEACHER, ok=(200, 303)),
    ("POST", "/courses/{code}/quiz/{attempt_id}"): only(TEACHER),
    ("POST", "/courses/{code}/drop"): only(TEACHER),
    ("POST", "/courses/{code}/rate"): only(TEACHER),
    ("GET", "/checkin"): only(TEACHER),
    ("POST", "/checkin"): only(TEACHER, data={"code": "000000"}),
    ("GET", "/api/v1/courses"): only(*ANY),
    ("GET", "/api/v1/courses/{code}"): only(*ANY),
    ("POST", "/api/v1/courses/{code}/enrol"): only(TEACHER),
    ("POST", "/api/v1/courses/{code}/complete"): only(TEACHER),
    ("POST", "/api/v1/checkin"): only(TEACHER),
    # -- programmes open to a teacher (the walk's programme is in the teacher's county)
    ("GET", "/programs"): only(TEACHER),
    ("GET", "/programs/{program_id}"): only(TEACHER),
    ("POST", "/programs/{program_id}/register"): only(TEACHER),
    ("POST", "/api/v1/programs/{program_id}/register"): only(TEACHER),
    # -- practice and review
    ("GET", "/practice"): only(TEACHER),
    ("POST", "/practice"): only(TEACHER),
    ("POST", "/practice/speakers/preview"): only(TEACHER, data={"role": "师", "share": "0.6"}),
    ("GET", "/practice/{record_id}"): only(*VIEWERS),
    ("GET", "/practice/trend"): only(*VIEWERS, query="teacher={teacher_id}"),
    ("GET", "/practice/compare"): only(*VIEWERS),
    ("GET", "/practice/{record_id}/contest"): only(TEACHER, ok=(200, 303)),
    ("POST", "/practice/{record_id}/contest"): only(TEACHER),
    ("GET", "/review"): only(*REVIEWERS),
    ("GET", "/review/{diagnosis_id}"): only(*REVIEWERS),
    ("POST", "/review/{diagnosis_id}"): only(*REVIEWERS),
    ("POST", "/review/rescore"): only(*REVIEWERS),
    ("POST", "/api/v1/practice"): only(TEACHER),
    ("GET", "/api/v1/practice"): only(*VIEWERS),
    ("GET", "/api/v1/practice/{record_id}"): only(*VIEWERS),
    ("POST", "/api/v1/practice/{record_id}/contest"): only(TEACHER),
    ("GET", "/api/v1/review/queue"): only(*REVIEWERS),
    ("POST", "/api/v1/review/rescore"): only(*REVIEWERS),
    ("POST", "/api/v1/review/{diagnosis_id}"): only(*REVIEWERS),
    # -- studios (teachers) and the studio console (hosts)
    ("GET", "/studios"): only(*READERS),
    ("GET", "/studios/inbox"): only(TEACHER),
    ("GET", "/studios/cases/{case_id}"): only(*READERS),
    ("POST", "/studios/cases/{case_id}/complete"): only(TEACHER),
    ("POST", "/studios/cases/{case_id}/opened"): only(TEACHER, ok=(204,)),
    ("GET", "/studios/{studio_id}"): only(*READERS),
    ("POST", "/studios/{studio_id}/join"): only(TEACHER),
    ("GET", "/studio"): only(HOST),
    ("GET", "/studio/cases/new"): only(HOST),
    ("POST", "/studio/cases"): only(HOST),
    ("GET", "/studio/push"): only(HOST),
    # a plain (non-htmx) request is sent to the whole wizard with the same filters
    ("GET", "/studio/push/audience"): only(HOST, query="case_id={case_id}", ok=(303,)),
    ("POST", "/studio/push"): only(HOST),
    ("GET", "/studio/pushes/{push_id}"): only(HOST),
    ("GET", "/api/v1/studios"): only(*READERS),
    ("GET", "/api/v1/studios/inbox"): only(TEACHER),
    ("GET", "/api/v1/studio/push/audience"): only(HOST, query="case_id={case_id}"),
    ("POST", "/api/v1/studio/push"): only(HOST),
    # -- trainer
    ("GET", "/trainer"): only(TRAINER),
    ("GET", "/trainer/programs"): only(TRAINER),
    ("GET", "/trainer/programs/{program_id}"): only(TRAINER),
    ("GET", "/trainer/sessions/{session_id}"): only(TRAINER),
    ("POST", "/trainer/sessions/{session_id}/attendance"): only(TRAINER),
    ("GET", "/trainer/programs/new"): only(TRAINER),
    ("POST", "/trainer/programs"): only(TRAINER, data={"title": "巡检"}, ok=(422,)),
    ("GET", "/trainer/programs/{program_id}/edit"): only(TRAINER),
    ("POST", "/trainer/programs/{program_id}/edit"): only(TRAINER, ok=(422,)),
    ("POST", "/trainer/programs/{program_id}/status"): only(TRAINER, ok=(422,)),
    ("POST", "/trainer/programs/{program_id}/sessions"): only(TRAINER, ok=(422,)),
    ("GET", "/trainer/sessions/{session_id}/edit"): only(TRAINER),
    ("POST", "/trainer/sessions/{session_id}/edit"): only(TRAINER, ok=(422,)),
    # the walk's session has attendance: it cannot be deleted
    ("POST", "/trainer/sessions/{session_id}/delete"): only(TRAINER, ok=(409,)),
    ("POST", "/trainer/sessions/{session_id}/code"): only(TRAINER, ok=(303,)),
    ("GET", "/trainer/programs/{program_id}/assign"): only(TRAINER, query="stage=初中"),
    # a school nobody teaches at: nobody is assigned, the form explains (422)
    ("POST", "/trainer/programs/{program_id}/assign"): only(
        TRAINER, data={"school_id": "999999"}, ok=(422,)
    ),
    ("GET", "/trainer/programs/{program_id}/report"): only(TRAINER),
    ("GET", "/trainer/programs/{program_id}/report.csv"): only(TRAINER),
    ("GET", "/trainer/agreement"): only(TRAINER),
    ("GET", "/trainer/heatmap"): only(TRAINER),
    ("GET", "/api/v1/trainer/agreement"): only(TRAINER),
    # -- admin
    ("GET", "/admin"): only(ADMIN),
    ("GET", "/admin/regions/{region_id}"): only(ADMIN),
    ("GET", "/admin/schools/{school_id}"): only(ADMIN),
    ("GET", "/admin/compliance.csv"): only(ADMIN, query="level=school"),
    ("GET", "/admin/catalog"): only(ADMIN),
    ("GET", "/admin/catalog/template.csv"): only(ADMIN),
    ("POST", "/admin/catalog/import"): only(ADMIN),
    ("GET", "/admin/policy"): only(ADMIN),
    ("GET", "/admin/gaps"): only(ADMIN),
    ("GET", "/admin/gaps.csv"): only(ADMIN),
    ("GET", "/admin/search/synonyms"): only(ADMIN, query="q=PBL"),
    ("POST", "/admin/search/synonyms"): only(ADMIN, data={"aliases": "", "expansion": ""}),
    ("POST", "/admin/search/synonyms/remove"): only(
        ADMIN, data={"synonym_id": "999999"}, ok=(404,)
    ),
    ("GET", "/admin/search/synonyms/try"): only(ADMIN, query="q=大观念"),
    # -- course authoring (admins and trainers)
    ("GET", "/authoring"): only(*REVIEWERS),
    ("POST", "/authoring/courses"): only(*REVIEWERS),
    ("GET", "/authoring/courses/{code}"): only(*REVIEWERS),
    ("POST", "/authoring/courses/{code}"): only(*REVIEWERS),
    ("POST", "/authoring/courses/{code}/units"): only(*REVIEWERS),
    ("POST", "/authoring/courses/{code}/units/{unit_id}"): only(*REVIEWERS),
    ("POST", "/authoring/courses/{code}/questions"): only(*REVIEWERS),
    ("POST", "/authoring/courses/{code}/questions/{question_id}/retire"): only(*REVIEWERS),
    ("POST", "/authoring/courses/{code}/status"): only(*REVIEWERS),
    ("POST", "/authoring/courses/{code}/import"): only(*REVIEWERS),
    ("GET", "/api/v1/compliance"): only(ADMIN),
    # -- admin: regions and schools, the roster, staff accounts (issue 17)
    ("GET", "/admin/org"): only(ADMIN),
    ("POST", "/admin/org/regions"): only(ADMIN, data={"name": ""}),
    ("POST", "/admin/org/regions/{region_id}"): only(ADMIN, data={"name": ""}),
    ("POST", "/admin/org/schools"): only(ADMIN, data={"name": ""}),
    ("GET", "/admin/org/schools/{school_id}"): only(ADMIN),
    ("POST", "/admin/org/schools/{school_id}"): only(ADMIN, data={"name": ""}),
    ("GET", "/admin/org/template.csv"): only(ADMIN),
    ("GET", "/admin/org/template.xlsx"): only(ADMIN),
    ("POST", "/admin/org/import"): only(ADMIN),
    ("GET", "/admin/roster"): only(ADMIN, query="q=&status=active&page=1"),
    ("GET", "/admin/roster/template.xlsx"): only(ADMIN),
    ("GET", "/admin/roster/template.csv"): only(ADMIN),
    ("GET", "/admin/roster/export.csv"): only(ADMIN),
    ("POST", "/admin/roster/import"): only(ADMIN),
    ("GET", "/admin/accounts"): only(ADMIN),
    ("POST", "/admin/accounts"): only(ADMIN, data={"username": ""}),
    # on a teacher of the admin's own county nobody logs in as (reactivate runs after deactivate)
    ("POST", "/admin/accounts/{user_id}/reset-password"): only(ADMIN),
    ("POST", "/admin/accounts/{user_id}/deactivate"): only(ADMIN),
    ("POST", "/admin/accounts/{user_id}/reactivate"): only(ADMIN),
    # -- everyone's own password
    ("GET", "/account/password"): only(*ANY),
    ("POST", "/account/password"): only(
        *ANY, data={"current": "wrong", "password": "x", "confirm": "x"}
    ),
    # -- background jobs (the walk's job was started by the trainer)
    ("GET", "/jobs"): only(TRAINER, ADMIN),
    ("GET", "/jobs/{job_id}"): only(TRAINER, ADMIN),
    ("GET", "/api/v1/jobs/{job_id}"): only(TRAINER, ADMIN),
}


def flat_routes(routes: list[Any]) -> Iterator[Any]:
    """app.routes with included routers expanded (FastAPI keeps them nested, lazily)."""
    for route in routes:
        if hasattr(route, "effective_candidates"):
            yield from flat_routes(route.effective_candidates())
        else:
            yield route


def served_routes(app: Any) -> set[tuple[str, str]]:
    found = set()
    for route in flat_routes(app.routes):
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                found.add((method, route.path))
    return found


@dataclass
class Fixture:
    """Ids from the walk's private demo copy: per role, records it may see, and others'."""

    site: Site
    users: dict[str, str]
    own: dict[str, dict[str, Any]] = field(default_factory=dict)
    other: dict[str, Any] = field(default_factory=dict)
    clients: dict[str, TestClient] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, role: str) -> TestClient:
        if role not in self.clients:
            self.clients[role] = self.site.client(None if role == ANON else self.users[role])
            self.tokens[role] = page_token(self.clients[role])
        return self.clients[role]


@job_handler("test.walk")
def _walk_job(context: Any, progress: Any, params: dict[str, Any]) -> str:
    return "完成"


def page_token(client: TestClient) -> str:
    """The session's CSRF token (the one every rendered form and hx-headers carry)."""
    if COOKIE_NAME not in client.cookies:
        client.get("/login")  # an anonymous session gets its token with the login form
    secret = client.app.state.services.settings.secret_key.get_secret_value()  # type: ignore[attr-defined]
    serializer = URLSafeSerializer(secret, salt="yanxiu.session")
    return csrf_for(secret, serializer.loads(client.cookies[COOKIE_NAME])["sid"])


def _transcript(case_id: str) -> bytes:
    for path in sorted((PROJECT_ROOT / "content" / "cases").glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
            if case["id"] == case_id:
                return str(case["body"]).encode()
    raise LookupError(case_id)


@pytest.fixture(scope="module")
def walk(demo_db_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fixture]:
    folder = tmp_path_factory.mktemp("route-walk")
    copy_sqlite(demo_db_file, folder / "yanxiu.db")
    site = Site(site_settings(folder / "yanxiu.db", folder / "var"))
    f = site.factory
    with f() as s:
        host = s.scalar(select(User).where(User.username == USERS[HOST]))
        trainer = s.scalar(select(User).where(User.username == USERS[TRAINER]))
        admin = s.scalar(select(User).where(User.username == USERS[ADMIN]))
        assert host and trainer and admin
        studio = s.scalar(select(Studio).where(Studio.host_id == host.id))
        other_studio = s.scalar(select(Studio).where(Studio.host_id != host.id).order_by(Studio.id))
        assert studio and other_studio
        # a 临江区 teacher the host pushed a case to; a 白石县 teacher (outside trainer's county)
        delivery = s.scalars(
            select(PushDelivery)
            .join(Push, Push.id == PushDelivery.push_id)
            .join(User, User.id == PushDelivery.teacher_id)
            .where(Push.studio_id == studio.id, User.region_id == trainer.region_id)
            .order_by(PushDelivery.id)
        ).first()
        assert delivery is not None
        teacher = s.get(User, delivery.teacher_id)
        other_teacher = s.scalars(
            select(User)
            .where(User.role == Role.TEACHER, User.region_id == admin.region_id)
            .order_by(User.id)
        ).first()
        assert teacher and other_teacher
        members = set(
            s.scalars(select(StudioMember.studio_id).where(StudioMember.teacher_id == teacher.id))
        )
        delivered = set(
            s.scalars(
                select(Push.case_id)
                .join(PushDelivery, PushDelivery.push_id == Push.id)
                .where(PushDelivery.teacher_id == teacher.id)
            )
        )
        foreign_case = s.scalars(
            select(CaseResource).where(
                CaseResource.studio_id.not_in(members | {studio.id}),
                CaseResource.id.not_in(delivered),
            )
        ).first()
        other_push = s.scalar(select(Push).where(Push.studio_id == other_studio.id))
        course = "SD-005"  # a course with study units (a PDF among them) and a quiz
        own_school = s.scalar(select(School.id).where(School.county_id == admin.region_id))
        other_school = s.scalar(select(School.id).where(School.county_id == trainer.region_id))
        program = s.scalar(select(Program).where(Program.trainer_id == trainer.id))
        other_program = s.scalar(select(Program).where(Program.trainer_id != trainer.id))
        assert foreign_case and other_push and course and own_school and other_school
        assert program and other_program
        session_own = s.scalar(
            select(OfflineSession.id).where(OfflineSession.program_id == program.id)
        )
        session_other = s.scalar(
            select(OfflineSession.id).where(OfflineSession.program_id == other_program.id)
        )
        ids = {
            "teacher": teacher.username, "teacher_id": teacher.id,
            "other_teacher": other_teacher.username, "other_teacher_id": other_teacher.id, "studio": studio.id,
            "other_studio": other_studio.id, "case": delivery.push.case_id,
            "foreign_case": foreign_case.id, "push": delivery.push_id, "other_push": other_push.id,
            "course": course, "region": admin.region_id, "other_region": trainer.region_id,
            "school": own_school, "other_school": other_school, "program": program.id,
            "other_program": other_program.id, "session": session_own,
            "other_session": session_other, "trainer_id": trainer.id,
        }  # fmt: skip
    # practice records with AI drafts, one per county
    with f() as s:
        rec, diag = submit_record(s, teacher_id=ids["teacher_id"], kind=RecordKind.TRANSCRIPT,
                                  data=_transcript("CASE-001"), filename="walk.txt",
                                  title="路由巡检实录（临江）", stage="初中", subject="数学")  # fmt: skip
        other_id = s.scalar(select(User.id).where(User.username == ids["other_teacher"]))
        orec, odiag = submit_record(s, teacher_id=other_id, kind=RecordKind.TRANSCRIPT,
                                    data=_transcript("CASE-002"), filename="walk2.txt",
                                    title="路由巡检实录（白石）", stage="初中", subject="数学")  # fmt: skip
        s.commit()
        ids |= {"record": rec.id, "diagnosis": diag.id, "other_record": orec.id,
                "other_diagnosis": odiag.id}  # fmt: skip
    with f() as s:  # an hour claim with evidence in each county
        folder = evidence_dir(site.settings.data_dir)
        for key, uid in (("", ids["teacher_id"]), ("other_", other_id)):
            claim = submit_claim(s, site.app.state.services.policy, s.get(User, uid),
                                 ClaimDraft("school_based", "学科教学", "4", "2026-10-10", "2026-10-10",
                                            "临江区第一中学教务处", "路由巡检校本研修"),
                                 [Upload("证书.pdf", b"%PDF-1.4 walk")], evidence_dir=folder,
                                 today=date.today())  # fmt: skip
            ids[f"{key}claim"] = claim.id
            ids[f"{key}certificate"] = issue_certificate(
                s,
                site.app.state.services.policy,
                "walk-secret",
                teacher_id=uid,
                period_key="cycle",
                issued_by_id=uid,
                today=date.today(),
            ).id
            ids[f"{key}evidence"] = s.scalar(
                select(ClaimEvidence.id).where(ClaimEvidence.claim_id == claim.id)
            )
        s.commit()

    with f() as s:  # the teacher studies the course: a unit with a file, an open quiz attempt
        enrol_teacher(s, teacher_id=ids["teacher_id"], code=course)
        attempt = start_attempt(s, policy=load_policies(PROJECT_ROOT / "content" / "policies")["GX"],
                                teacher_id=ids["teacher_id"], code=course)  # fmt: skip
        ids["attempt"] = attempt.id
        ids["unit"] = s.scalar(
            select(CourseUnit.id)
            .join(Course, Course.id == CourseUnit.course_id)
            .where(Course.code == course, CourseUnit.media_file != "")
        )
        ids["question"] = attempt.paper[0]["q"]
        s.commit()

    users = {TEACHER: ids["teacher"], **USERS}
    with f() as s:  # one message of its own for every signed-in role (anonymous: any id)
        notes = {}
        for role, username in users.items():
            uid = s.scalar(select(User.id).where(User.username == username))
            notify(s, user_id=uid, kind=NotificationKind.CASE_PUSHED, title="路由巡检消息",
                   link="/", event_key=f"walk:{role}")  # fmt: skip
            notes[role] = s.scalar(
                select(Notification.id).where(Notification.event_key == f"walk:{role}")
            )
        s.commit()
        ids["other_notification"] = notes[TEACHER]
    fx = Fixture(site, users)
    for role in ROLES:  # each client runs the lifespan (a new job registry): all first
        fx.client(role)
    job = site.app.state.services.jobs.submit(
        "test.walk", "路由巡检任务", kind="walk", owner_id=ids["trainer_id"]
    )
    ids["job"] = job.id
    with f() as s:  # a job in the admin's county (白石县): an admin sees jobs of their region only
        baishi_trainer = s.scalar(select(User.id).where(User.username == "trainer.baishi"))
    admin_job = site.app.state.services.jobs.submit(
        "test.walk", "路由巡检任务（白石）", kind="walk", owner_id=baishi_trainer
    )
    base = {
        "code": ids["course"], "record_id": ids["record"], "diagnosis_id": ids["diagnosis"],
        "case_id": ids["case"], "studio_id": ids["studio"], "push_id": ids["push"],
        "region_id": ids["region"], "school_id": ids["school"], "job_id": ids["job"],
        "teacher": ids["teacher"], "program_id": ids["program"], "session_id": ids["session"],
        "teacher_id": ids["teacher_id"], "user_id": ids["teacher_id"],
        "unit_id": ids["unit"], "attempt_id": ids["attempt"],
        "question_id": ids["question"],
        "claim_id": ids["claim"], "evidence_id": ids["evidence"],
        "certificate_id": ids["certificate"],
    }  # fmt: skip
    # the admin (白石县) sees its own county's records
    admin_own = base | {"record_id": ids["other_record"], "diagnosis_id": ids["other_diagnosis"],
                        "teacher": ids["other_teacher"], "job_id": admin_job.id,
                        "claim_id": ids["other_claim"], "evidence_id": ids["other_evidence"],
                        "certificate_id": ids["other_certificate"]}  # fmt: skip
    admin_own["teacher_id"] = other_id
    admin_own["user_id"] = other_id
    fx.own = {role: dict(base) for role in ROLES}
    fx.own[ADMIN] = admin_own
    for role in ROLES:
        fx.own[role]["notification_id"] = notes.get(role, notes[TEACHER])
    fx.other = ids
    yield fx
    site.close()


def classify(response: Any, path: str) -> str:
    status = response.status_code
    location = response.headers.get("location", "")
    if path.startswith("/api/") and status == 401:
        return LOGIN
    if status in (302, 303, 307) and location.startswith("/login"):
        return LOGIN
    if status == 403:
        return FORBIDDEN
    return f"HTTP {status}"


def request(fx: Fixture, role: str, method: str, path: str, rule: Rule | None = None) -> Any:
    rule = rule or Rule(())
    if rule.fresh_login:  # a throwaway session: logging out must not end the walk's own
        client = TestClient(fx.site.app)  # no lifespan: the app's state (jobs) stays as it is
        if role != ANON:
            assert login(client, fx.users[role], fx.site.password).status_code == 303
        token = page_token(client)
    else:
        client = fx.client(role)
        token = fx.tokens[role]
    headers = {"X-CSRF-Token": token}
    if method == "GET":
        return client.get(path, headers=headers, follow_redirects=False)
    if path.startswith("/api/"):
        return client.post(path, json=rule.data or {}, headers=headers, follow_redirects=False)
    return client.post(path, data=rule.data or {}, headers=headers, follow_redirects=False)


def fill(template: str, values: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), template)


def test_every_route_is_in_the_walk(walk: Fixture) -> None:
    served = served_routes(walk.site.app)
    missing = sorted(served - set(WALK))
    stale = sorted(set(WALK) - served)
    assert not missing, f"routes not in the walk's table (add them to WALK): {missing}"
    assert not stale, f"WALK lists routes the app no longer serves: {stale}"


@pytest.mark.parametrize("role", ROLES)
def test_walk_every_route_as(walk: Fixture, role: str) -> None:
    served = served_routes(walk.site.app)
    wrong = []
    for (method, template), rule in sorted(WALK.items()):
        if (method, template) not in served:
            continue  # reported by test_every_route_is_in_the_walk
        values = walk.own[role]
        path = fill(template, values)
        if rule.query:
            path += "?" + fill(rule.query, values)
        response = request(walk, role, method, path, rule)
        expected = rule.expected(role)
        got = classify(response, path)
        if expected == ALLOWED:
            ok = rule.ok or ((200,) if method == "GET" else (200, 201, 202, 303, 400, 409, 422))
            if response.status_code not in ok:
                wrong.append(f"{method} {path}: expected allowed {ok}, got {got}")
        elif got != expected:
            wrong.append(f"{method} {path}: expected {expected}, got {got}")
    assert not wrong, f"{role}: " + "; ".join(wrong)


# Someone else's records: (role, method, path template, body) → 403, always.
DENIED: list[tuple[str, str, str, dict[str, Any] | None]] = [
    (TEACHER, "GET", "/practice/{other_record}", None),
    (TEACHER, "GET", "/api/v1/practice/{other_record}", None),
    (TEACHER, "GET", "/practice/{other_record}/contest", None),
    (TEACHER, "POST", "/practice/{other_record}/contest", {"reason": "我认为评分有误。"}),
    (TEACHER, "POST", "/api/v1/practice/{other_record}/contest", {"reason": "我认为评分有误。"}),
    (TEACHER, "GET", "/api/v1/teachers/{other_teacher}/path", None),
    (TEACHER, "GET", "/studios/cases/{foreign_case}", None),
    (TEACHER, "GET", "/jobs/{job}", None),
    (TEACHER, "GET", "/claims/{other_claim}", None),
    (TEACHER, "GET", "/claims/{other_claim}/evidence/{other_evidence}", None),
    (TEACHER, "POST", "/claims/{other_claim}/resubmit", {"title": "改别人的申报"}),
    (TRAINER, "GET", "/claims/{other_claim}", None),
    (TRAINER, "GET", "/claims/{other_claim}/evidence/{other_evidence}", None),
    (TRAINER, "POST", "/claims/{other_claim}/decision", {"action": "approve"}),
    (TRAINER, "POST", "/api/v1/claims/{other_claim}/decision", {"action": "approve"}),
    (ADMIN, "GET", "/claims/{claim}", None),
    (ADMIN, "POST", "/claims/{claim}/decision", {"action": "approve"}),
    (HOST, "GET", "/claims/{claim}", None),
    (TEACHER, "GET", "/certificates/{other_certificate}/pdf", None),
    (TRAINER, "GET", "/certificates/{other_certificate}/pdf", None),
    (ADMIN, "GET", "/certificates/{certificate}/pdf", None),
    (ADMIN, "GET", "/jobs/{job}", None),  # the trainer's job, in another county
    (ADMIN, "GET", "/api/v1/jobs/{job}", None),
    (TRAINER, "GET", "/practice/{other_record}", None),
    (TRAINER, "GET", "/review/{other_diagnosis}", None),
    (TRAINER, "POST", "/review/{other_diagnosis}", {"action": "accept", "comment": "同意"}),
    (TRAINER, "POST", "/api/v1/review/{other_diagnosis}", {"action": "accept"}),
    (TRAINER, "GET", "/api/v1/practice?teacher={other_teacher}", None),
    (TRAINER, "GET", "/api/v1/teachers/{other_teacher}/path", None),
    (TRAINER, "GET", "/trainer/programs/{other_program}", None),
    (TRAINER, "GET", "/trainer/sessions/{other_session}", None),
    (TRAINER, "POST", "/trainer/sessions/{other_session}/attendance", {"rest_present": "1"}),
    (TRAINER, "GET", "/trainer/programs/{other_program}/edit", None),
    (TRAINER, "POST", "/trainer/programs/{other_program}/edit", {"title": "改别人的项目"}),
    (TRAINER, "POST", "/trainer/programs/{other_program}/status", {"status": "closed"}),
    (TRAINER, "POST", "/trainer/programs/{other_program}/sessions", {"title": "加一场"}),
    (TRAINER, "GET", "/trainer/sessions/{other_session}/edit", None),
    (TRAINER, "POST", "/trainer/sessions/{other_session}/edit", {"title": "改一场"}),
    (TRAINER, "POST", "/trainer/sessions/{other_session}/delete", None),
    (TRAINER, "POST", "/trainer/sessions/{other_session}/code", None),
    (TRAINER, "GET", "/trainer/programs/{other_program}/assign", None),
    (TRAINER, "POST", "/trainer/programs/{other_program}/assign", {"stage": "初中"}),
    (TRAINER, "GET", "/trainer/programs/{other_program}/report", None),
    (TRAINER, "GET", "/trainer/programs/{other_program}/report.csv", None),
    (ADMIN, "GET", "/practice/{record}", None),
    (ADMIN, "GET", "/review/{diagnosis}", None),
    (ADMIN, "POST", "/review/{diagnosis}", {"action": "accept"}),
    (ADMIN, "GET", "/api/v1/teachers/{teacher}/path", None),
    (ADMIN, "GET", "/api/v1/practice?teacher={teacher}", None),
    (ADMIN, "GET", "/admin/regions/{other_region}", None),
    (ADMIN, "GET", "/admin/schools/{other_school}", None),
    (ADMIN, "GET", "/admin/org/schools/{other_school}", None),
    (
        ADMIN,
        "POST",
        "/admin/org/schools/{other_school}",
        {"name": "改名", "county_id": "{other_region}"},
    ),
    (ADMIN, "POST", "/admin/org/regions/{other_region}", {"name": "改名"}),
    (ADMIN, "POST", "/admin/org/regions", {"name": "新区", "parent_id": "{other_region}"}),
    (ADMIN, "POST", "/admin/accounts/{teacher_id}/reset-password", None),
    (ADMIN, "POST", "/admin/accounts/{teacher_id}/deactivate", None),
    (ADMIN, "POST", "/admin/accounts/{trainer_id}/reactivate", None),
    (ADMIN, "GET", "/people/teachers/{teacher_id}", None),
    (ADMIN, "GET", "/people/teachers/{teacher_id}/path", None),
    (TRAINER, "GET", "/people/teachers/{other_teacher_id}", None),
    (HOST, "GET", "/studio/pushes/{other_push}", None),
    (HOST, "GET", "/studios/cases/{foreign_case}", None),
    (HOST, "GET", "/studio/push?case_id={foreign_case}", None),
    (HOST, "GET", "/studio/push/audience?case_id={foreign_case}", None),
    (HOST, "POST", "/studio/push", {"case_id": "{foreign_case}", "teacher_id": "{teacher_id}"}),
]


@pytest.mark.parametrize(
    ("role", "method", "template", "body"),
    DENIED,
    ids=[f"{r}-{m}-{t}" for r, m, t, _ in DENIED],
)
def test_someone_elses_records_are_403(
    walk: Fixture, role: str, method: str, template: str, body: dict[str, Any] | None
) -> None:
    assert _served(walk, method, template), f"{method} {template} is not served any more"
    path = fill(template, walk.other)
    data = {k: fill(str(v), walk.other) for k, v in (body or {}).items()} if body else None
    response = request(walk, role, method, path, Rule((), data=data))
    assert response.status_code == 403, (
        f"{role} {method} {path}: {response.status_code} {response.text[:200]}"
    )


def _served(fx: Fixture, method: str, template: str) -> bool:
    """Is there a served route whose template matches ``template`` (names may differ)?"""
    shape = re.sub(r"\{\w+\}", "{}", template.split("?")[0])
    return any(
        m == method and re.sub(r"\{\w+\}", "{}", p) == shape for m, p in served_routes(fx.site.app)
    )


def test_htmx_requests_without_login_get_hx_redirect(walk: Fixture) -> None:
    response = walk.client(ANON).get(
        "/courses/search?q=师德", headers={"HX-Request": "true"}, follow_redirects=False
    )
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")


def test_static_assets_are_public(walk: Fixture) -> None:
    assert walk.client(ANON).get("/static/app.css").status_code == 200


def test_posts_without_csrf_token_are_refused(walk: Fixture) -> None:
    client = walk.client(TEACHER)
    code = walk.other["course"]
    assert client.post(f"/courses/{code}/enrol", follow_redirects=False).status_code == 403
    assert client.post(f"/api/v1/courses/{code}/enrol").status_code == 403
