"""A PostgreSQL server that drops agentcl's connections (a restart does this to every client). The shared
server is not restarted here (other work uses it): instead this store's own backends are terminated with
pg_terminate_backend, found by a unique application_name, which is the error clients see in a restart
("terminating connection due to administrator command"). Pooled connections are replaced (pre-ping),
operations that committed nothing are re-run, and a run that cannot go on saves its report and events
and stops with one line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from memory_store import MemoryStore
from tests.conftest import PG_URL

pytestmark = pytest.mark.postgres
REPO = Path(__file__).resolve().parents[2]


class Terminator:
    """Terminates every backend whose application_name is `app`, from an admin connection of its own."""

    def __init__(self, app: str):
        self.app = app
        self.admin = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
        self.killed = 0
        self._stop = threading.Event()
        self._thread = None

    def kill(self) -> int:
        with self.admin.connect() as conn:
            n = int(conn.execute(sa.text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                         "WHERE application_name = :a AND pid <> pg_backend_pid()"),
                                 {"a": self.app}).scalar())
        self.killed += n
        return n

    def every(self, seconds: float, *, while_alive: subprocess.Popen) -> None:
        def loop():
            while not self._stop.is_set() and while_alive.poll() is None:
                self.kill()
                time.sleep(seconds)

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)
        self.admin.dispose()


@pytest.fixture
def lost(pg_url):
    app = f"agentcl-test-{uuid.uuid4().hex[:8]}"
    terminator = Terminator(app)
    yield f"{pg_url}&application_name={app}", terminator, pg_url
    terminator.stop()


def test_operations_ride_out_terminated_connections(lost, home, embedder):
    url, terminator, _ = lost
    store = MemoryStore.open(url, home=home, embedder=embedder)
    try:
        store.add_note("the launch is in March")
        assert terminator.kill() >= 1  # idle pooled connections: replaced at the next checkout
        assert store.search("launch", k=1)[0].text == "the launch is in March"

        # A backend killed just before a write's INSERT: the transaction never committed, so it is re-run.
        armed = {"insert": True, "commit": False}

        @sa.event.listens_for(store.engine, "before_cursor_execute")
        def _kill_before_insert(conn, cursor, statement, *args):
            if armed["insert"] and statement.lstrip().upper().startswith("INSERT INTO NOTES"):
                armed["insert"] = False
                assert terminator.kill() >= 1

        before = store.current_version()
        note = store.add_note("the budget was approved")
        assert note.version == before + 1 == store.current_version()  # applied once, no gap
        assert [r.text for r in store.search("budget approved", k=2)].count("the budget was approved") == 1

        # Killed while COMMIT is on its way: whether it landed is unknown, so it is not re-run.
        @sa.event.listens_for(store.engine, "commit")
        def _kill_at_commit(conn):
            if armed["commit"]:
                armed["commit"] = False
                terminator.kill()

        armed["commit"] = True
        with pytest.raises(sa.exc.DBAPIError) as lost_commit:
            store.add_note("written while the server went away")
        from memory_store.faults import fault_line

        line = fault_line(lost_commit.value, url=url)
        assert line.startswith("database postgresql+psycopg://") and "\n" not in line, line
        assert store.current_version() in (before + 1, before + 2)  # at most once
        assert [n.text for n in store.notes()].count("written while the server went away") <= 1
    finally:
        store.close()


def _run(url: str, home: Path, **env) -> subprocess.Popen:
    """`agentcl run --json` on the default drifting world (300 tasks), in a process of its own."""
    environ = {**os.environ, "AGENTCL_HOME": str(home), "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1",
               "TRANSFORMERS_OFFLINE": "1", **env}
    environ.pop("AGENTCL_DB_URL", None)
    return subprocess.Popen([sys.executable, "-m", "cli.main", "--db", url, "run", "--json"], cwd=REPO, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _running(base_url: str, proc: subprocess.Popen, timeout: float = 300) -> None:
    """Wait until the run is past loading and writing memory (its schema holds a few versions)."""
    engine = sa.create_engine(base_url, poolclass=sa.pool.NullPool)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                if conn.execute(sa.text("SELECT to_regclass('versions') IS NOT NULL")).scalar() and \
                        conn.execute(sa.text("SELECT count(*) FROM versions")).scalar() >= 5:
                    return
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never got going"
            time.sleep(0.05)
    finally:
        engine.dispose()


def _events(url: str, run_id: str) -> int:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM agent_events WHERE run_id = :r"), {"r": run_id}).scalar())
    finally:
        engine.dispose()


def test_run_with_connections_terminated_keeps_its_report_and_events(lost, tmp_path):
    """Connections dropped again and again during `agentcl run`: it finishes, or (if a drop lands on an
    operation that cannot be repeated) stops with one line; either way its report and events are kept."""
    url, terminator, base = lost
    proc = _run(url, tmp_path / "home")
    _running(base, proc)
    terminator.every(0.4, while_alive=proc)
    out, err = proc.communicate(timeout=600)
    assert terminator.killed >= 2, "no connection was dropped while the run used the database"
    assert "Traceback" not in err, err[-3000:]
    reports = list((tmp_path / "home" / "runs").glob("*.json"))
    assert len(reports) == 1, (proc.returncode, err[-2000:])
    report = json.loads(reports[0].read_text())
    if proc.returncode == 0:
        assert json.loads(out)["run_id"] == report["run_id"] and report["tasks"] == 300
    else:
        # warnings of retries on the way (one line each), then the one error line
        lines = err.splitlines()
        assert proc.returncode == 2 and lines[-1].startswith("error: run "), err[-3000:]
        assert sum(line.startswith("error:") for line in lines) == 1, err[-3000:]
        assert report["completed"] is False
    assert _events(url, report["run_id"]) + report.get("events_in_file", 0) > 0


def test_run_that_loses_the_database_for_good_stops_in_one_line_with_its_report(lost, tmp_path):
    """Every connection killed as soon as it is made, longer than the retries wait (shortened to 1 s):
    exit 2, one line naming the database, and the report and buffered events saved (events to a file
    beside the report, since the database takes nothing)."""
    url, terminator, base = lost
    proc = _run(url, tmp_path / "home", AGENTCL_DB_RECONNECT_S="1")
    _running(base, proc)  # some steps done, events buffered
    terminator.every(0.01, while_alive=proc)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 2, (proc.returncode, err[-3000:])
    lines = err.splitlines()
    assert out == "" and "Traceback" not in err and sum(x.startswith("error:") for x in lines) == 1, err[-3000:]
    line = lines[-1]  # after the warnings of the retries that did not help
    assert line.startswith("error: run ") and "database postgresql+psycopg://" in line and "report: " in line, err
    report = json.loads(Path(line.rsplit("report: ", 1)[1].strip()).read_text())
    assert report["completed"] is False and report["steps"] >= 1 and report["error"].startswith("database ")
    terminator.stop()
    events = _events(url, report["run_id"]) + report.get("events_in_file", 0)
    assert events > 0, report
    if report.get("events_file"):
        assert len(Path(report["events_file"]).read_text().splitlines()) == report["events_in_file"]
