"""Registering, versions with diffs and notes, lifecycle, calls (validation, timeout, errors, oversize), stats."""
from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from memory_store.errors import InvalidInputError, NotFoundError
from skills import SkillRegistry, skill, skill_from_spec


def _email_v1():
    @skill(name="send_email")
    def send_email(to: str, body: str) -> str:
        """Send an email.

        Args:
            to: Who receives the message.
            body: The text.
        """
        return f"sent to {to}"
    return send_email


def _email_v2():
    @skill(name="send_email")
    def send_email(recipient: str, body: str) -> str:
        """Send an email.

        Args:
            recipient: Who receives the message.
            body: The text.
        """
        return f"sent to {recipient}"
    return send_email


def test_versions_diff_rename_note_and_did_you_mean(registry):
    first = registry.register(_email_v1())
    assert (first.action, first.version) == ("inserted", 1)
    assert registry.register(_email_v1()).action == "unchanged"
    second = registry.register(_email_v2())
    assert (second.action, second.version) == ("new_version", 2)
    assert second.diff["renamed"] == {"to": "recipient"}
    info = registry.get("send_email")
    assert [v.version for v in info.versions] == [1, 2] and info.current_version == 2
    assert "parameter `to` became `recipient` in v2" in info.current.notes
    # The old way of calling fails with a structured error that teaches the new name.
    result = registry.call("send_email", {"to": "bob", "body": "hi"})
    assert not result.ok and result.error.kind == "invalid_args"
    assert result.error.unknown == ["to"] and result.error.missing == ["recipient"]
    assert result.error.did_you_mean == {"to": "recipient"}
    assert any("became" in n for n in result.error.notes)
    assert registry.call("send_email", {"recipient": "bob", "body": "hi"}).result == "sent to bob"
    stats = {(s["version"]): s for s in registry.stats("send_email")}
    assert stats[2]["calls"] == 2 and stats[2]["successes"] == 1 and stats[2]["failures"] == {"invalid_args": 1}
    assert stats[1]["calls"] == 0


def test_duplicate_name_from_another_origin_changes_nothing(registry):
    registry.register(_email_v1(), origin="api")
    before = registry.get("send_email")
    with pytest.raises(InvalidInputError, match="duplicate"):
        registry.register(_email_v2(), origin="plugin:x")
    with pytest.raises(InvalidInputError, match="duplicate"):
        registry.register_many([_email_v1().__agentcl_skill__, _email_v2().__agentcl_skill__])
    after = registry.get("send_email")
    assert after.current_version == before.current_version == 1 and len(after.versions) == 1


def test_lifecycle_enable_disable_deprecate_remove(registry):
    registry.register(_email_v1())
    registry.disable("send_email")
    res = registry.call("send_email", {"to": "a", "body": "b"})
    assert not res.ok and res.error.kind == "disabled"
    registry.enable("send_email")
    with pytest.raises(NotFoundError):
        registry.deprecate("send_email", replacement="no_such_skill")
    info = registry.deprecate("send_email", replacement="calculate")
    assert info.deprecated and info.replacement == "calculate"
    assert registry.call("send_email", {"to": "a", "body": "b"}).ok  # still callable while deprecated
    registry.remove("send_email")
    assert registry.find("send_email") is None
    assert registry.call("send_emial", {}).error.kind == "not_found"
    with pytest.raises(NotFoundError):
        registry.remove("send_email")


def test_timeout_exception_and_oversize_are_structured(tmp_path, embedder):
    reg = SkillRegistry.in_memory(embedder=embedder, timeout_s=0.5, max_result_chars=1000)

    @skill
    def hang(seconds: float) -> str:
        """Sleep for a while."""
        time.sleep(seconds)
        return "done"

    @skill
    def boom() -> None:
        """Always fails."""
        raise KeyError("missing thing")

    @skill
    def big(n: int) -> str:
        """A long string."""
        return "x" * n

    for fn in (hang, boom, big):
        reg.register(fn)
    start = time.perf_counter()
    res = reg.call("hang", {"seconds": 30})
    assert time.perf_counter() - start < 5  # the agent was not blocked by the hung skill
    assert not res.ok and res.error.kind == "timeout"
    assert reg.call("boom").error.kind == "exception" and "KeyError" in reg.call("boom").error.message
    before_big, outside = datetime.now(UTC), time.perf_counter()
    assert reg.call("big", {"n": 10}).ok
    assert reg.call("big", {"n": 5000}).error.kind == "oversize"
    outside_ms, after_big = (time.perf_counter() - outside) * 1000, datetime.now(UTC)
    stats = {s["name"]: s for s in reg.stats()}
    assert stats["hang"]["failures"] == {"timeout": 1}
    assert stats["hang"]["mean_latency_ms"] >= 500  # a timeout costs the time waited for it (timeout_s=0.5)
    assert stats["boom"]["failures"] == {"exception": 2}
    big = stats["big"]
    assert big["calls"] == 2 and big["successes"] == 1 and big["success_rate"] == 0.5
    assert 0 < big["total_latency_ms"] <= outside_ms  # the two calls, timed inside what was timed outside
    assert big["mean_latency_ms"] == pytest.approx(big["total_latency_ms"] / 2, abs=1e-3)
    assert before_big <= datetime.fromisoformat(big["last_used_at"]) <= after_big


def test_json_spec_tool_without_executor_is_unavailable(registry):
    spec = {"name": "get_weather", "description": "Weather for a city.",
            "parameters": {"type": "dict", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
    registry.register_spec(spec)
    assert registry.call("get_weather", {"city": "Oslo"}).error.kind == "unavailable"
    registry.register_spec({**spec, "description": "Weather for a city (v2)."},
                           executor=lambda city: {"city": city, "temp": 3})
    assert registry.get("get_weather").current_version == 2
    assert registry.call("get_weather", {"city": "Oslo"}).result == {"city": "Oslo", "temp": 3}


def test_export_openai_format(registry):
    registry.register(skill_from_spec({"name": "math.hypot", "description": "Norm.",
                                       "parameters": {"type": "dict", "properties": {"x": {"type": "integer"}}}},
                                      executor=lambda x: abs(x)))
    tools = {t["x-agentcl-name"]: t for t in registry.export_openai()}
    assert tools["math.hypot"]["function"]["name"] == "math_hypot"
    assert tools["math.hypot"]["function"]["parameters"]["type"] == "object"
    assert tools["calculate"]["type"] == "function"
    registry.disable("calculate")
    assert "calculate" not in {t["x-agentcl-name"] for t in registry.export_openai()}


def test_record_call_for_calls_made_elsewhere(registry):
    registry.register_spec({"name": "env.lookup", "description": "Look up a key.",
                            "parameters": {"type": "object", "properties": {"key": {"type": "string"}}}})
    registry.record_call("env.lookup", ok=True, latency_ms=12.5, task="find the key colour", args={"key": "colour"})
    registry.record_call("env.lookup", ok=False, error_kind="invalid_args", latency_ms=1.0)
    row = registry.stats("env.lookup")[0]
    assert (row["calls"], row["successes"], row["failures"]) == (2, 1, {"invalid_args": 1})
    assert row["mean_latency_ms"] == 6.75
    assert [e.task for e in registry.examples("env.lookup")] == ["find the key colour"]


def _double(description: str, body: int = 0, tags=(), examples=()):
    @skill(name="double", tags=tags, examples=examples)
    def double(x: int) -> int:
        return 2 * x + body
    double.__agentcl_skill__.description = description
    double.__agentcl_skill__.source = f"return 2 * x + {body}"
    return double


def test_version_diff_says_what_changed_besides_parameters(registry):
    registry.register(_double("Double a number."))
    changed = registry.register(_double("Double an integer."))
    assert changed.action == "new_version" and changed.diff["changed"] == ["description"]
    assert changed.diff["text"] == "no parameter change; changed description"
    source = registry.register(_double("Double an integer.", body=1))
    assert source.diff["changed"] == ["source"] and source.diff["text"].endswith("changed source")
    # Tags and example tasks are metadata: refreshed in place, same version, stats kept.
    assert registry.call("double", {"x": 2}).result == 5
    meta = registry.register(_double("Double an integer.", body=1, tags=["math"], examples=["twice 21?"]))
    assert (meta.action, meta.version) == ("updated", 3)
    info = registry.get("double")
    assert info.current.tags == ["math"] and info.current.examples == ["twice 21?"]
    assert info.current.stats.calls == 1 and len(info.versions) == 3
    shown = [v.to_dict()["diff"] for v in info.versions]
    assert shown[0] is None and shown[2]["from_version"] == 2


def test_remove_is_refused_while_another_skill_points_to_it(registry):
    registry.register(_email_v1())
    registry.deprecate("send_email", replacement="calculate")
    with pytest.raises(InvalidInputError, match="send_email is deprecated in favour of it"):
        registry.remove("calculate")
    registry.propose_composite("convert_then_calc", "x", [
        {"skill": "convert_units", "args": {"value": "{{inputs.v}}", "from_unit": "km", "to_unit": "m"}}],
        {"type": "object", "properties": {"v": {"type": "number"}}, "required": ["v"]})
    with pytest.raises(InvalidInputError, match="composite convert_then_calc calls it"):
        registry.remove("convert_units")
    assert registry.find("calculate") and registry.find("convert_units")
    registry.remove("convert_then_calc")
    registry.remove("convert_units")


def test_identical_usage_examples_are_kept_once(registry):
    for _ in range(3):
        assert registry.call("calculate", {"expression": "1 + 1"}, task="one plus one").ok
    registry.call("calculate", {"expression": "1+1"}, task="one plus one")
    assert [(e.task, e.args) for e in registry.examples("calculate")] == [
        ("one plus one", {"expression": "1 + 1"}), ("one plus one", {"expression": "1+1"})]
    assert registry.stats("calculate")[0]["calls"] == 4  # every call still counts
