"""The in-process job registry behind the API's progress endpoints."""

from __future__ import annotations

import threading
import time

from portguard.core.jobs import Jobs


def _wait(jobs: Jobs, job_id: str, org: str) -> dict:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        job = jobs.get(job_id, org_id=org)
        assert job is not None
        if job.state != "running":
            return job.as_dict()
        time.sleep(0.01)
    raise AssertionError("job did not finish")


def test_progress_result_and_cleanup():
    jobs = Jobs()
    gate = threading.Event()
    cleaned = threading.Event()

    def work(progress):
        progress(40)
        gate.wait(5)
        progress(100)
        return {"rows": 100}

    job = jobs.start(kind="k", owner_org_id="org_a", user_id="u", total=100, work=work, cleanup=cleaned.set)
    deadline = time.monotonic() + 5
    while job.done < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    running = job.as_dict()
    assert (running["state"], running["done"], running["percent"], running["result"]) == ("running", 40, 40.0, None)
    assert not cleaned.is_set()
    gate.set()
    done = _wait(jobs, job.id, "org_a")
    assert (done["state"], done["percent"], done["result"]) == ("finished", 100.0, {"rows": 100})
    assert done["finished_at"] is not None and cleaned.wait(5)


def test_a_failing_job_reports_its_error_and_still_cleans_up():
    jobs = Jobs()
    cleaned = threading.Event()

    def work(progress):
        raise ValueError("the file vanished")

    job = jobs.start(kind="k", owner_org_id="org_a", user_id=None, total=None, work=work, cleanup=cleaned.set)
    done = _wait(jobs, job.id, "org_a")
    assert (done["state"], done["error"], done["percent"]) == ("failed", "ValueError: the file vanished", None)
    assert cleaned.wait(5)


def test_another_organisation_does_not_see_the_job():
    jobs = Jobs()
    job = jobs.start(kind="k", owner_org_id="org_a", user_id=None, total=1, work=lambda progress: {})
    _wait(jobs, job.id, "org_a")
    assert jobs.get(job.id, org_id="org_b") is None
    assert jobs.get("job_missing", org_id="org_a") is None


def test_only_the_newest_finished_jobs_are_kept():
    jobs = Jobs(keep=2)
    ids = []
    for _ in range(4):
        job = jobs.start(kind="k", owner_org_id="org_a", user_id=None, total=1, work=lambda progress: {})
        _wait(jobs, job.id, "org_a")
        ids.append(job.id)
    jobs.start(kind="k", owner_org_id="org_a", user_id=None, total=1, work=lambda progress: {})  # triggers forgetting
    assert [jobs.get(i, org_id="org_a") is not None for i in ids] == [False, False, True, True]
