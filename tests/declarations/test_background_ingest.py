"""A large upload in the background: 202 with a job, progress to poll, the ingest report as the job's result."""

from __future__ import annotations

import json
import time

from portguard.core.policy import OrgKind, Role
from tests.conftest import bearer
from tests.declarations.test_ingest import declaration


def _poll(client, headers, url: str, *, seconds: float = 60.0) -> dict:
    deadline = time.monotonic() + seconds
    seen = []
    while time.monotonic() < deadline:
        job = client.get(url, headers=headers)
        assert job.status_code == 200, job.text
        body = job.json()
        seen.append(body["done"])
        if body["state"] != "running":
            assert seen == sorted(seen)  # progress never goes back
            return body
        time.sleep(0.05)
    raise AssertionError(f"job still running after {seconds} s: {seen[-5:]}")


def test_background_upload_reports_progress_and_the_result(client, db, make_user):
    analyst = make_user(Role.CUSTOMS_ANALYST)
    headers = bearer(db, analyst)
    rows = 3000
    content = "".join(json.dumps(declaration(f"BG{i:05d}")) + "\n" for i in range(rows)).encode()
    started = client.post(
        "/api/declarations/ingest",
        headers=headers,
        files={"file": ("big.jsonl", content)},
        data={"format": "ics2", "background": "true"},
    )
    assert started.status_code == 202, started.text
    job = started.json()
    assert started.headers["location"] == f"/api/jobs/{job['id']}"
    assert (job["kind"], job["total"]) == ("declarations.ingest", rows)  # the estimate is the line count

    finished = _poll(client, headers, started.headers["location"])
    assert finished["state"] == "finished" and finished["error"] is None
    assert finished["done"] == rows and finished["percent"] == 100.0
    result = finished["result"]
    assert (result["status"], result["declarations"]) == ("committed", rows)
    assert client.get("/api/declarations?ref=BG", headers=headers).json()["total"] == rows
    ingest = client.get(f"/api/ingests/{result['ingest_id']}", headers=headers).json()
    assert (ingest["status"], ingest["file_name"]) == ("committed", "big.jsonl")


def test_a_rejected_background_upload_is_a_finished_job_with_the_errors(client, db, make_user):
    analyst = make_user(Role.CUSTOMS_ANALYST)
    headers = bearer(db, analyst)
    content = (json.dumps(declaration("OK1")) + "\n" + json.dumps(declaration("BAD", office="")) + "\n").encode()
    started = client.post(
        "/api/declarations/ingest",
        headers=headers,
        files={"file": ("bad.jsonl", content)},
        data={"format": "ics2", "background": "true"},
    )
    assert started.status_code == 202
    result = _poll(client, headers, started.headers["location"])["result"]
    assert result["status"] == "rejected" and [(e["row"], e["field"]) for e in result["errors"]] == [(2, "office")]
    assert client.get("/api/declarations?ref=OK1", headers=headers).json()["total"] == 0


def test_bad_format_is_refused_before_a_job_starts(client, db, make_user):
    headers = bearer(db, make_user(Role.CUSTOMS_ANALYST))
    refused = client.post(
        "/api/declarations/ingest",
        headers=headers,
        files={"file": ("x.csv", b"a,b\n")},
        data={"format": "csv", "background": "true"},
    )
    assert refused.status_code == 422 and "mapping" in refused.json()["detail"]


def test_jobs_are_seen_only_by_their_organisation(client, db, make_user):
    analyst = make_user(Role.CUSTOMS_ANALYST)
    started = client.post(
        "/api/declarations/ingest",
        headers=bearer(db, analyst),
        files={"file": ("one.jsonl", (json.dumps(declaration("ONE")) + "\n").encode())},
        data={"format": "ics2", "background": "true"},
    )
    url = started.headers["location"]
    _poll(client, bearer(db, analyst), url)
    other = make_user(Role.CUSTOMS_ANALYST, kind=OrgKind.CUSTOMS_AUTHORITY)
    hidden = client.get(url, headers=bearer(db, other))
    assert hidden.status_code == 404 and hidden.headers["content-type"].startswith("application/problem+json")
    assert client.get(url).status_code == 401
    assert client.get("/api/jobs/job_unknown", headers=bearer(db, analyst)).status_code == 404
