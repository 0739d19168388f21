"""Long work in a background thread, with progress a client can poll: the API side of "long work shows progress".

A request that would run for minutes (loading a large file, later: re-scoring a day of declarations) starts a job
and answers 202 with the job's URL at once; the client polls `GET /api/jobs/{id}` for rows done, the estimated
total and, at the end, the result. The work gets a `progress(done)` callback, the same one the CLI's Rich
progress bar uses, and runs in its own database session.

Jobs live in the memory of the process that started them (`app.state.jobs`), which is right for one process (the
embedded default and `portguard serve`). Several worker processes behind a load balancer would need the registry in
the database or Redis; the interface (start, get) stays the same. Finished jobs are kept until `keep` newer ones
have finished. A job is visible only to its own organisation.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from portguard.core.clock import utcnow
from portguard.core.deps import CurrentPrincipal
from portguard.core.errors import PROBLEM_RESPONSES, NotFound
from portguard.core.ids import new_id

Progress = Callable[[int], None]
log = logging.getLogger(__name__)


@dataclass
class Job:
    """One piece of long work and how far it got."""

    id: str
    kind: str
    owner_org_id: str
    user_id: str | None
    total: int | None = None
    done: int = 0
    state: str = "running"  # running | finished | failed
    result: dict[str, Any] | None = None
    error: str | None = None
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "percent": None if not self.total else min(100.0, round(100.0 * self.done / self.total, 1)),
            "result": self.result,
            "error": self.error,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


class Jobs:
    """The jobs of this process."""

    def __init__(self, *, keep: int = 200) -> None:
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._keep = keep

    def start(
        self,
        *,
        kind: str,
        owner_org_id: str,
        user_id: str | None,
        total: int | None,
        work: Callable[[Progress], dict[str, Any]],
        cleanup: Callable[[], None] | None = None,
    ) -> Job:
        """Run `work(progress)` in a thread; its return value becomes the job's result, its exception the error."""
        job = Job(id=new_id("job"), kind=kind, owner_org_id=owner_org_id, user_id=user_id, total=total)
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()

        def progress(done: int) -> None:
            job.done = done

        def run() -> None:
            try:
                job.result = work(progress)
                job.state = "finished"
            except Exception as exc:  # reported to the client; the traceback goes to the server log
                job.error = f"{type(exc).__name__}: {exc}"
                job.state = "failed"
                log.exception("job %s (%s) failed", job.id, job.kind)
            finally:
                job.finished_at = utcnow()
                if cleanup is not None:
                    cleanup()

        threading.Thread(target=run, name=f"job-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: str, *, org_id: str) -> Job | None:
        """The job if it exists and belongs to `org_id`."""
        job = self._jobs.get(job_id)
        return job if job is not None and job.owner_org_id == org_id else None

    def _forget_old(self) -> None:
        finished = [j.id for j in self._jobs.values() if j.state != "running"]
        for job_id in finished[: max(0, len(finished) - self._keep)]:
            del self._jobs[job_id]


# ---------------------------------------------------------------- HTTP

router = APIRouter(prefix="/api", tags=["jobs"], responses=PROBLEM_RESPONSES)


class JobOut(BaseModel):
    id: str
    kind: str
    state: str
    done: int
    total: int | None
    percent: float | None
    result: dict[str, Any] | None
    error: str | None
    started_at: str
    finished_at: str | None


@router.get("/jobs/{job_id}", response_model=JobOut, summary="Progress of a long-running job")
def get_job(request: Request, principal: CurrentPrincipal, job_id: str) -> Any:
    """How far a job started by your organisation got (rows done, estimated total) and, once finished, its result."""
    job = request.app.state.jobs.get(job_id, org_id=principal.org_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    return job.as_dict()
