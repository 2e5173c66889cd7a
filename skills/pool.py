"""Warm worker processes for skill code the registry does not own (skills/worker.py).

A request takes an idle worker (or starts one), waits for its reply up to a deadline, and gives the
worker back. A worker that misses the deadline is killed (SIGKILL stops C code too); one that exits
while working (os._exit, a crash) is reported as such. Either way the next request gets a fresh one,
so a call costs a pipe round trip, not a process start, once the pool is warm."""
from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import threading
import time

from .worker import HEADER, encode, write_frame

MAX_IDLE = 2  # warm workers kept between calls (more may run at once; extras end when given back)
START_TIMEOUT_S = 60.0  # a worker imports the skills package before it answers
MAX_FRAME_BYTES = 64 << 20  # a reply longer than this is not a reply (results are capped far below it)


class WorkerTimeout(Exception):
    """The worker gave no reply in time and was killed."""


class WorkerDied(Exception):
    """The worker process ended before it replied (the skill ended it, or it crashed)."""

    def __init__(self, returncode: int | None):
        super().__init__(f"exit code {returncode}")
        self.returncode = returncode


class _Process:
    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # import what the parent imports
        self.proc = subprocess.Popen([sys.executable, "-c", "from skills.worker import main; main()"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True)
        self._in = self.proc.stdin.fileno()
        self._out = self.proc.stdout.fileno()
        self._buffer = bytearray()
        self.ask(None, START_TIMEOUT_S)  # wait for "ready"

    def ask(self, request: dict | None, timeout_s: float) -> dict:
        if request is not None:
            try:
                write_frame(self._in, encode(request))
            except (BrokenPipeError, OSError):
                raise WorkerDied(self.proc.poll()) from None
        deadline = time.monotonic() + timeout_s
        head = self._read(HEADER.size, deadline)
        size = HEADER.unpack(head)[0]
        if size > MAX_FRAME_BYTES:  # skill code can write to the reply pipe itself: never trust a length
            self.kill()
            raise WorkerDied(None)
        return json.loads(self._read(size, deadline))

    def _read(self, size: int, deadline: float) -> bytes:
        while len(self._buffer) < size:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._out], [], [], left)[0]:
                self.kill()
                raise WorkerTimeout()
            chunk = os.read(self._out, 1 << 20)
            if not chunk:
                self.kill()
                raise WorkerDied(self.proc.returncode)
            self._buffer += chunk
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def close(self) -> None:
        """Ask politely (end of input), then make sure."""
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


class WorkerPool:
    def __init__(self, max_idle: int = MAX_IDLE) -> None:
        self.max_idle = max_idle
        self._idle: list[_Process] = []
        self._lock = threading.Lock()
        self.started = 0  # processes started (tests and benchmarks read it)

    def request(self, request: dict, timeout_s: float) -> dict:
        """The worker's reply, or WorkerTimeout / WorkerDied (the worker is then gone)."""
        worker = self._take()
        try:
            reply = worker.ask({**request, "sys_path": list(sys.path)}, timeout_s)
        except (WorkerTimeout, WorkerDied):
            raise
        except BaseException:  # e.g. a reply that is not JSON: this worker's stream is unusable
            worker.kill()
            raise
        self._give_back(worker)
        return reply

    def _take(self) -> _Process:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
                worker.kill()
        try:
            worker = _Process()
        except WorkerTimeout:
            raise WorkerDied(None) from None
        with self._lock:
            self.started += 1
        return worker

    def _give_back(self, worker: _Process) -> None:
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(worker)
                return
        worker.close()

    def warm(self) -> None:
        """Start one worker now (e.g. before timing calls)."""
        self._give_back(self._take())

    def shutdown(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()


_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def pool() -> WorkerPool:
    """The process-wide pool (workers are shared by every registry of this process)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = WorkerPool()
            atexit.register(_pool.shutdown)
        return _pool


def _forget_after_fork() -> None:
    """A forked child must not share its parent's workers (two writers on one pipe): it starts its own."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
