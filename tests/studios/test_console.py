"""The host's services behind the console pages: the wizard's filters, the reach of a hand-made
selection, publishing with a bad file, and whose pushes a host may analyse."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.studios.test_push import World
from yanxiu.accounts.models import Role
from yanxiu.errors import Invalid, NotAllowed, NotFound
from yanxiu.studios import console, service
from yanxiu.studios import push as pushes
from yanxiu.studios.models import CaseResource, StudioMember


@pytest.fixture
def world(session: Session, content) -> World:  # type: ignore[no-untyped-def]
    return World(session, content)


def test_the_wizard_keeps_the_cases_stage_and_subject_until_the_form_is_used(
    world: World,
) -> None:
    untouched = console.WizardFilters().for_case(world.case)
    assert (untouched.stage, untouched.subject) == ("初中", "数学")
    assert (untouched.scope, untouched.size) == ("region", pushes.DEFAULT_SIZE)
    cleared = console.WizardFilters(filtered="1").for_case(world.case)
    assert (cleared.stage, cleared.subject) == ("", "")  # the host chose 不限
    odd = console.WizardFilters(stage="小学", county_id="x", location=["rural", "moon"],
                                weak_only="on", scope="members", size="abc").for_case(world.case)  # fmt: skip
    assert (odd.stage, odd.subject) == ("小学", "数学")
    assert odd.county_id is None and odd.locations == ("rural",) and odd.weak_only
    assert odd.scope == "members" and odd.size == pushes.DEFAULT_SIZE
    assert console.WizardFilters(size="9999").for_case(world.case).size == pushes.MAX_SIZE


def test_the_api_filters_default_to_the_case_and_empty_means_any(world: World) -> None:
    default = console.AudienceQuery().for_case(world.case)
    assert (default.stage, default.subject) == ("初中", "数学")
    anything = console.AudienceQuery(stage="", subject="", scope="members").for_case(world.case)
    assert (anything.stage, anything.subject, anything.scope) == ("", "", "members")


def test_the_reach_of_a_selection_counts_only_teachers_the_host_may_push_to(
    world: World,
) -> None:
    urban = world.user("urban", school=world.urban)
    rural = world.user("rural", school=world.rural)
    far = world.user("far", school=world.far)  # another city: outside the host's scope
    chosen = [urban.id, rural.id, far.id]
    reach = console.selection_reach(world.s, world.host.id, world.case.id, chosen)
    assert (reach.teachers, reach.rural, reach.weak) == (2, 1, 0)
    world.s.add(StudioMember(studio_id=world.studio.id, teacher_id=far.id))
    world.s.flush()  # a member may be pushed to wherever they teach
    reach = console.selection_reach(world.s, world.host.id, world.case.id, chosen)
    assert (reach.teachers, reach.rural, reach.weak, reach.members) == (3, 2, 1, 1)


def test_a_bad_file_is_reported_with_every_other_problem_and_nothing_is_written(
    world: World,
) -> None:
    cases = select(func.count(CaseResource.id))
    before = world.s.scalar(cases)
    draft = service.CaseDraft(title="短", kind="reflection", stage="初中", subject="数学",
                              summary="太短", body="")  # fmt: skip
    with pytest.raises(Invalid) as refused:
        console.publish(world.s, world.host.id, None, draft, upload=(b"PK\x03\x04", "a.pptx"))
    assert set(refused.value.fields) == {"file", "title", "summary"}  # not "body": the file is
    assert "不支持" in refused.value.fields["file"]
    assert world.s.scalar(cases) == before
    teacher = world.user("teacher")
    with pytest.raises(NotAllowed, match="还没有主持的工作室"):
        console.publish(world.s, teacher.id, None, draft)


def test_a_host_analyses_only_their_own_pushes(world: World) -> None:
    teacher = world.user("teacher")
    sent = console.send(world.s, world.host.id, world.case.id, [teacher.id], note="请阅读")
    assert sent.result.created and sent.case.id == world.case.id
    analytics = console.push_analytics(world.s, world.host.id, sent.result.push.id)
    assert analytics.stats.delivered == 1 and analytics.studio.id == world.studio.id
    assert [r.teacher_id for r in analytics.recipients] == [teacher.id]
    other_host = world.user("otherhost", Role.HOST)
    with pytest.raises(service.StudioAccessError):
        console.push_analytics(world.s, other_host.id, sent.result.push.id)
    with pytest.raises(service.StudioAccessError):
        console.send(world.s, other_host.id, world.case.id, [teacher.id])
    with pytest.raises(NotFound):
        console.push_analytics(world.s, world.host.id, sent.result.push.id + 1000)
