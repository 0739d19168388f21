"""`kill -9` in the middle of an ingest leaves no row of the file, and loading it again succeeds (both back-ends)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from portguard.core.policy import Role
from tests.declarations.test_ingest import counts, declaration, load

ROWS = 60_000  # large enough to be killed mid-way: several seconds on the reference machine


def test_kill_9_mid_ingest_leaves_nothing_and_a_rerun_succeeds(db, make_user, tmp_path: Path):
    analyst = make_user(Role.CUSTOMS_ANALYST)
    path = tmp_path / "large.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(ROWS):
            fh.write(json.dumps(declaration(f"K{i:06d}")) + "\n")
    env = {**os.environ, "PORTGUARD_DATABASE_URL": db.url, "PORTGUARD_DATA_DIR": str(tmp_path / "data")}
    command = [
        sys.executable,
        "-c",
        "from portguard.cli import main; main()",
        "declarations",
        "ingest",
        str(path),
        "--org",
        analyst.org_id,
        "--json",
    ]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(3.0)  # start-up is ~1 s; the whole file takes several seconds more
    still_running = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert still_running, "the ingest finished before it could be killed; make the file larger"
    assert proc.returncode == -signal.SIGKILL
    assert counts(db)["declarations"] == 0

    report = load(db, actor=analyst.principal, owner_org_id=analyst.org_id, path=path, format="ics2")
    assert (report.status, report.declarations) == ("committed", ROWS)
    assert counts(db)["declarations"] == ROWS
