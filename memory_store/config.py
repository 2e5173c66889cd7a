"""Where agentcl keeps its state: AGENTCL_HOME (SQLite db, FAISS index files, checkpoints) and the db URL."""
from __future__ import annotations

import os
from pathlib import Path

DEFAULT_HOME = "~/.agentcl"


def agentcl_home(home: str | os.PathLike | None = None) -> Path:
    """The state directory: the argument, else $AGENTCL_HOME, else ~/.agentcl. Created if missing; one
    that cannot be (a file of that name, no permission) is the user's setting to fix: a UserError."""
    from .errors import UserError

    path = Path(home or os.environ.get("AGENTCL_HOME") or DEFAULT_HOME).expanduser()
    if path.exists() and not path.is_dir():
        raise UserError(f"AGENTCL_HOME {path} is not a directory (set AGENTCL_HOME or --home to a directory)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create AGENTCL_HOME {path}: {exc.strerror or exc}") from None
    return path


def database_url(db: str | None = None, home: str | os.PathLike | None = None) -> str:
    """The SQLAlchemy URL: the argument, else $AGENTCL_DB_URL, else SQLite inside AGENTCL_HOME."""
    url = db or os.environ.get("AGENTCL_DB_URL")
    if url:
        if url.startswith("postgresql://"):
            # psycopg 3 is the driver we ship in the `postgres` extra.
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url
    return f"sqlite:///{agentcl_home(home) / 'memory.db'}"


def index_dir(home: str | os.PathLike | None = None, url: str | None = None) -> Path:
    """Directory of derived FAISS index files; one sub-directory per database so two dbs never share."""
    import hashlib

    key = hashlib.sha1((url or database_url(home=home)).encode()).hexdigest()[:12]
    path = agentcl_home(home) / "index" / key
    path.mkdir(parents=True, exist_ok=True)
    return path
