"""学时证明：教师下载某个周期或学年的学时证明（PDF，带验证码）；管理员核验验证码。

Issuing is a POST (it records the certificate and audits it), then the browser is sent to the
PDF. The rules are :mod:`yanxiu.credits.certificates`; the PDF is
:mod:`yanxiu.reports.certificate`. ``yanxiu verify CODE`` does the admin page's check on the
server's command line.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yanxiu.credits.certificates import issue_certificate, shown, verify_certificate
from yanxiu.reports.certificate import certificate_download, certificates_page
from yanxiu.services import Services
from yanxiu.web.deps import AdminUser, PathReader, ScopeDep, ServicesDep, SessionDep, TeacherUser
from yanxiu.web.pages import flash, render_view

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")


def _secret(services: Services) -> str:
    return services.settings.secret_key.get_secret_value()


@router.get("/teacher/certificates", response_class=HTMLResponse)
def my_certificates(
    request: Request, me: TeacherUser, db: SessionDep, services: ServicesDep
) -> HTMLResponse:
    view = certificates_page(db, services.policy, me.id, date.today())
    return render_view(request, "teacher/certificates.html", view, me=me, shown=shown)


@router.post("/teacher/certificates", response_class=HTMLResponse)
def issue(
    request: Request,
    me: TeacherUser,
    db: SessionDep,
    services: ServicesDep,
    period: str = Form("cycle", max_length=16),
) -> Response:
    cert = issue_certificate(db, services.policy, _secret(services), teacher_id=me.id,
                             period_key=period, issued_by_id=me.id, today=date.today())  # fmt: skip
    flash(request, f"学时证明已生成，验证码 {shown(cert.code)}。")
    return RedirectResponse(f"/certificates/{cert.id}/pdf", status_code=303)


@router.get("/certificates/{certificate_id}/pdf")
def certificate_pdf(
    certificate_id: int, _: PathReader, scope: ScopeDep, db: SessionDep
) -> Response:
    download = certificate_download(db, scope, certificate_id)
    return Response(
        download.body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{download.filename}"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/admin/certificates", response_class=HTMLResponse)
def verify_page(
    request: Request,
    me: AdminUser,
    db: SessionDep,
    services: ServicesDep,
    code: str = Query("", max_length=64),
) -> HTMLResponse:
    result = verify_certificate(db, services.policy, _secret(services), code) if code else None
    return render_view(request, "admin/certificates.html", None, me=me, code=code, result=result,
                       shown=shown)  # fmt: skip
