"""The JSON API fuzzed from its own OpenAPI schema (schemathesis): no input answers 500.

Every operation gets a bounded number of generated requests (derandomised, so a CI run is
reproducible), sent as an anonymous visitor, a teacher and an administrator, each with a
valid CSRF token so that writes reach their handlers rather than stopping at the token check.
Issue 19.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.conftest import copy_sqlite
from tests.web.conftest import Site, site_settings
from tests.web.helpers import form_token

pytestmark = pytest.mark.slow

IDENTITIES = (None, "t112", "admin")


@pytest.fixture(scope="module")
def fuzz_site(demo_db_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("fuzz-site")
    copy_sqlite(demo_db_file, folder / "yanxiu.db")  # the fuzzer writes: a copy of its own
    site = Site(site_settings(folder / "yanxiu.db", folder / "var"))
    yield site
    site.close()


@pytest.fixture(scope="module")
def identities(fuzz_site: Site) -> list[dict[str, Any]]:
    """Cookies and CSRF header of each identity (a page after login carries the token)."""
    out = []
    for username in IDENTITIES:
        client = fuzz_site.client(username)
        token = form_token(client.get("/login" if username is None else "/account/password").text)
        out.append({"cookies": dict(client.cookies.items()), "headers": {"X-CSRF-Token": token}})
    return out


def test_no_generated_request_makes_the_api_fail(
    fuzz_site: Site, identities: list[dict[str, Any]]
) -> None:
    # Operations are walked here rather than by schemathesis' pytest plugin (whose lazy
    # loader does not work with pytest 9); each gets its own bounded Hypothesis run.
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzz_site.app)
    failures: list[str] = []
    operations = 0
    seen: Counter[int] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(max_examples=12, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy())
        def fuzz(case: Any) -> None:
            for who in identities:
                response = case.call(cookies=who["cookies"], headers=dict(who["headers"]))
                seen[response.status_code // 100 * 100] += 1
                assert response.status_code < 500, (
                    f"{case.method} {case.formatted_path} answered {response.status_code}: "
                    f"{response.text[:300]}\nreproduce: {case.as_curl_command()}"
                )

        try:
            fuzz()
        except AssertionError as err:  # gather every failing operation, not just the first
            failures.append(str(err).splitlines()[0])
    assert operations > 20  # the schema was read, not silently empty
    # logged-in identities got through to handlers: some answers succeed, some refuse input
    assert seen[200] > operations and seen[400] > operations, seen
    assert not failures, "\n".join(failures)
