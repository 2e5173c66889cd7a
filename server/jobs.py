"""Consolidation runs in the background: one at a time per server, each with a job id the client polls.

A job lives in this process only (its id is a handle, not state): what it produced (checkpoints, the run
log, probe findings) is written where `agentcl consolidate status` reads it, so nothing is lost with the
server. A job still running at shutdown is abandoned; consolidation is crash-safe (the promoted model stays
active, a half-written checkpoint is never loaded)."""
from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from memory_store.errors import UserError

log = logging.getLogger("agentcl.server")
MAX_JOBS_KEPT = 100


class Busy(UserError):
    """A consolidation is already running (409)."""


@dataclass
class Job:
    id: int
    namespace: str
    options: dict
    status: str = "running"  # running | done | failed
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    report: dict | None = None
    error: str | None = None

    def to_dict(self) -> dict:
        return {"job": self.id, "namespace": self.namespace, "status": self.status, "options": self.options,
                "started_at": self.started_at, "finished_at": self.finished_at, "report": self.report,
                "error": self.error}


class Jobs:
    def __init__(self):
        self._jobs: OrderedDict[int, Job] = OrderedDict()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def start(self, namespace: str, options: dict, work) -> Job:
        """Run `work()` (returning a report dict) on a thread; refuse while another job runs."""
        with self._lock:
            running = [j for j in self._jobs.values() if j.status == "running"]
            if running:
                raise Busy(f"a consolidation is already running (job {running[0].id}, namespace "
                           f"{running[0].namespace!r}); poll it and try again when it is done")
            job = Job(next(self._ids), namespace, options)
            self._jobs[job.id] = job
            while len(self._jobs) > MAX_JOBS_KEPT:
                self._jobs.popitem(last=False)
        threading.Thread(target=self._run, args=(job, work), name=f"consolidation-{job.id}", daemon=True).start()
        return job

    def _run(self, job: Job, work) -> None:
        try:
            job.report = work()
            job.status = "done"
        except UserError as exc:
            job.status, job.error = "failed", " ".join(str(exc).split())
        except Exception as exc:  # a bug: logged with its traceback, reported in one line
            log.exception("consolidation job %d failed", job.id)
            job.status, job.error = "failed", f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:500]
        finally:
            job.finished_at = time.time()
            log.info("consolidation job %d (%s): %s", job.id, job.namespace, job.status)

    def get(self, job_id: int, namespace: str) -> Job:
        from memory_store.errors import NotFoundError

        job = self._jobs.get(job_id)
        if job is None or job.namespace != namespace:  # another tenant's job is not revealed
            raise NotFoundError(f"no consolidation job {job_id} in namespace {namespace!r}")
        return job
