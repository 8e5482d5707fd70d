"""The practice API's request and response models (``/api/v1/practice``, ``/api/v1/review``).

Responses are validated from the workspace's dataclasses (``from_attributes``); the diagnosis
itself is the typed draft of :mod:`yanxiu.practice.draft`, as the teacher or reviewer reads it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from yanxiu.practice.draft import DraftView, ReviewedDiagnosis


def _iso(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


IsoTime = Annotated[str, BeforeValidator(_iso)]  # a stored time as ISO 8601


class FromViews(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class UploadErrorOut(BaseModel):
    message: str = Field(description="中文说明，含行号，例如“第3行：无法识别说话人…”")
    line: int | None = Field(None, description="出错的行（段、条）号；无法定位时为空")


class PracticeCreated(FromViews):
    id: int
    diagnosis_id: int
    status: str = Field(description="pending_review：等待培训者审核")
    status_label: str
    kind: str
    title: str
    url: str


class RecordOut(FromViews):
    id: int
    title: str
    kind: str = Field(description="transcript 课堂实录 | lesson_plan 教学设计")
    kind_label: str
    teacher: str = Field(description="教师用户名")
    submitted_at: IsoTime
    status: str = Field(description="pending_review | accepted | edited | rejected | contested")
    status_label: str
    diagnosis_id: int | None


class RecordList(BaseModel):
    records: list[RecordOut]


class HistoryOut(FromViews):
    id: int
    decision: str
    decision_label: str
    by: str
    by_role: str
    comment: str
    scores: dict[str, int]
    at: IsoTime


class RecordDetail(RecordOut):
    filename: str
    text: str = Field(description="解析后的文本")
    diagnosis: ReviewedDiagnosis | None = Field(
        None, description="经培训者审核的诊断（通过或修改后）；未审核时为空"
    )
    rejection_comment: str = Field("", description="被退回时培训者写的理由")
    draft: DraftView | None = Field(
        None, description="AI 诊断草稿全文：仅对有权审核的培训者/管理员返回"
    )
    history: list[HistoryOut] = Field(default_factory=list, description="审核与申诉记录")


class QueueItem(FromViews):
    diagnosis_id: int
    record_id: int
    title: str
    kind: str
    teacher: str
    teacher_name: str
    school: str
    confidence: float
    urgency: float = Field(description="confidence less 0.05 per day waited: the queue order")
    submitted_at: IsoTime
    status: str
    contested: bool
    contest_reason: str


class QueueOut(BaseModel):
    items: list[QueueItem]


class ReviewIn(BaseModel):
    action: Literal["accept", "edit", "reject"]
    scores: dict[str, int] = Field(default_factory=dict, description="维度 → 1–5（edit 时）")
    summary: str | None = Field(None, max_length=2000, description="修改后的总体评语")
    suggestions: list[str] | None = Field(
        None, description="修改后的建议文字，顺序与草稿中的建议一一对应"
    )
    extra_suggestion: str = Field("", max_length=2000, description="培训者补充的建议（可选）")
    comment: str = Field("", max_length=2000, description="审核意见；退回时必填")


class ReviewOut(FromViews):
    diagnosis_id: int
    review_id: int
    decision: str
    status: str
    status_label: str


class ContestIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="申诉理由")


class ContestOut(FromViews):
    diagnosis_id: int
    status: str
    status_label: str


class JobStarted(BaseModel):
    job_id: int
    url: str
