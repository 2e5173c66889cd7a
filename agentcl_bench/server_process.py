"""A real `agentcl serve` in a child process on a free loopback port: for the tests and `agentcl bench serve`."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

START_TIMEOUT_S = 300  # loading torch and the embedder on a busy 2-core machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`with ServerProcess(home, db=url) as srv:` ... srv.url; srv.stop() sends SIGTERM and waits."""

    def __init__(self, home: str | Path, *, db: str | None = None, env: dict | None = None, port: int | None = None,
                 device: str = "cpu", host: str = "127.0.0.1"):
        """`host` is the bind address (0.0.0.0 binds every interface); the client side uses loopback."""
        self.home, self.db, self.device, self.host = Path(home), db, device, host
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.home / "server.log"
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None

    def start(self) -> ServerProcess:
        import httpx

        self.home.mkdir(parents=True, exist_ok=True)
        repo = str(Path(__file__).resolve().parents[1])
        env = os.environ | {"AGENTCL_HOME": str(self.home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                            "PYTHONPATH": repo + os.pathsep + os.environ.get("PYTHONPATH", "")} | self.extra_env
        env.pop("AGENTCL_SERVER", None)
        cmd = [sys.executable, "-m", "cli.main", "serve", "--host", self.host, "--port", str(self.port),
               "--device", self.device]
        if self.db:
            cmd += ["--db", self.db]
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=repo)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"agentcl serve exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            try:
                if httpx.get(self.url + "/docs", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"agentcl serve did not start in {START_TIMEOUT_S} s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 60) -> int | None:
        """SIGTERM (a graceful shutdown) and wait; kill if it hangs. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
