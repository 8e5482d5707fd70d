"""A job consumer in its own process, for the crash test: it takes the queued job, reports
progress (and heartbeats), then hangs until the test kills it (``python -m tests.crash_job_worker
URL DATA_DIR``). The handler, registered on import, completes instead when its marker exists
(the re-run after the crash, in the test's own process)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

from yanxiu.jobs import job_handler


@job_handler("test.crash", rerunnable=True)
def _crash_once(context: Any, progress: Any, params: dict[str, Any]) -> str:
    runs, marker = Path(params["runs"]), Path(params["marker"])
    with runs.open("a", encoding="utf-8") as out:
        out.write("start\n")
    progress.set_total(2)
    progress.advance(1, "第 1 步")
    if not marker.exists():  # the first run: hang here until killed
        marker.touch()
        threading.Event().wait(600)
    progress.advance(1, "第 2 步")
    with runs.open("a", encoding="utf-8") as out:
        out.write("done\n")
    return "两步完成"


def main(url: str, data_dir: str) -> None:
    import yanxiu.tables  # noqa: F401
    from yanxiu.config import Settings
    from yanxiu.db import make_engine, make_session_factory
    from yanxiu.jobqueue import JobQueue

    settings = Settings(env="test", database_url=url, data_dir=Path(data_dir), _env_file=None)  # type: ignore[call-arg]
    queue = JobQueue(settings, make_session_factory(make_engine(url)), heartbeat=0.2)
    queue.start_consumer()
    print("consuming", flush=True)
    threading.Event().wait(600)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
