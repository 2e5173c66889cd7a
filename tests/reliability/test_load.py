"""`agentcl bench load` as a function: real writer and reader processes for a short fixed time, on SQLite
and in a temporary schema on the PostgreSQL server; the result follows the benchmark contract and the
integrity check passes. Only the shape and the invariants are asserted, never a speed."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from agentcl_bench.load import run_load_bench
from memory_store import UserError
from tests.conftest import PG_URL

PASSWORD = "load-SECRET-pw"


def check_contract(result: dict, backend: str) -> None:
    assert result["benchmark"] == "load" and result["seeds"] == [0] and result["machine"]["cpu_cores"]
    rows = {r["metric"]: r for r in result["summary"]}
    assert all(set(r) == {"metric", "value", "target", "ok"} for r in result["summary"])
    ratios = {"write p50 / embedding one text alone p50 (same run)": ("write", "embed_one_text_writers"),
              "search p50 / embedding the query alone p50 (same run)": ("search", "embed_one_query_readers")}
    assert all(isinstance(r["value"], (int, float, str)) for r in result["summary"] if r["metric"] not in ratios)
    for metric, (op, embed) in ratios.items():  # None only when no embedding was timed (a short, busy run)
        value, lat = rows[metric]["value"], result["latency_ms"]
        assert (value is None) == (lat[embed]["n"] == 0), (metric, value, lat[embed])
        if value is not None:
            assert value == pytest.approx(lat[op]["p50_ms"] / lat[embed]["p50_ms"], abs=0.011)
    assert result["config"]["backend"] == backend and not result["errors"], result["errors"]
    assert rows["acknowledged writes lost"]["value"] == 0
    integrity = next(r for r in result["summary"] if r["metric"].startswith("integrity"))
    assert integrity["ok"] is True and integrity["value"] == "ok", result["check"]
    check, seconds, latency = result["check"], result["config"]["seconds"], result["latency_ms"]
    assert check["versions"] == check["acknowledged_writes"] > 0  # one version per acknowledged write
    # the rates are what the workers did in the run's time, not just some positive number
    assert rows["writes/s (acknowledged, all writers)"]["value"] == round(check["acknowledged_writes"] / seconds, 1)
    assert latency["read"]["n"] > 0 and 0 < latency["read"]["p50_ms"] <= latency["read"]["p99_ms"]
    assert rows["reads/s (searches + fact reads, all readers)"]["value"] == round(latency["read"]["n"] / seconds, 1)
    assert latency["write"]["n"] > 0 and 0 < latency["write"]["p50_ms"] <= latency["write"]["p99_ms"]


def test_load_on_sqlite(home):
    check_contract(run_load_bench(writers=2, readers=1, seconds=2, home=home), "sqlite")


@pytest.mark.postgres
def test_load_on_postgres_leaves_nothing_behind(pg_url, home):
    url = PG_URL.replace("postgres@", f"postgres:{PASSWORD}@", 1)  # trust auth: the password is ignored
    result = run_load_bench(writers=2, readers=1, seconds=2, url=url, home=home)
    check_contract(result, "postgresql")
    assert PASSWORD not in repr(result)
    engine = sa.create_engine(PG_URL)
    try:
        with engine.connect() as conn:
            left = conn.execute(sa.text("SELECT count(*) FROM information_schema.schemata "
                                        "WHERE schema_name LIKE 'agentcl_load_%'")).scalar_one()
    finally:
        engine.dispose()
    assert left == 0


@pytest.mark.parametrize("kwargs", [{"writers": 0}, {"writers": 17}, {"readers": -1}, {"seconds": 0},
                                    {"seconds": 601}, {"seconds": float("nan")}, {"writers": True},
                                    {"url": "mysql://root@127.0.0.1/x"},
                                    {"url": "postgresql+psycopg://postgres@127.0.0.1:1/test"}])
def test_bad_settings_are_one_clear_error(kwargs, home):
    with pytest.raises(UserError) as info:
        run_load_bench(**{"seconds": 1, **kwargs}, home=home)
    assert "\n" not in str(info.value)
