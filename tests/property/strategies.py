"""Hypothesis strategies for hostile input: arbitrary and odd unicode, empty and huge strings, SQL-looking
text, odd times and durations, NaN / inf / out-of-range numbers, values of the wrong type, and JSON that
only some backends can store."""
from __future__ import annotations

import math
from datetime import UTC, datetime

from hypothesis import strategies as st

SQLISH = [
    "'; DROP TABLE facts; --", "Robert'); DELETE FROM notes WHERE 1=1; --", "1 OR 1=1", "\" OR \"\"=\"",
    "%", "_", "%_%", "\\", "\\'", "NULL", "null", "$1", ":namespace", "?", "/* */", "' UNION SELECT * FROM versions --",
]
ODD = [
    "", " ", "\t\n ", "\x00", "a\x00b", "\ud800", "x\udfffy", "e\u0301", "\u202eevil", "\ufeff", "🙂🙃", "ﷺ",
    "İstanbul", "ß", "Σ", "\u3000", "a\u2028b", "\x1b[31mred", "a" * 200, "a" * 201, "b" * 500, "b" * 501,
    "c" * 10_000, "c" * 10_001, "d" * 100_000, "d" * 100_001,
]
text = st.one_of(st.text(max_size=40), st.sampled_from(SQLISH + ODD),
                 st.text(st.characters(codec="utf-8", exclude_categories=()), max_size=20))
wrong_type = st.sampled_from([None, 0, 7, -1.5, math.nan, True, b"bytes", ["a"], {"a": 1}])
any_text = st.one_of(text, wrong_type)
namespace = st.one_of(st.sampled_from(["default", "ns-a", "ns-b", "tenant/1", "ns a", "", "x" * 201, "'; --"]),
                      st.text(max_size=12))

ODD_TIMES = [
    "", " ", "now", "yesterday", "2024-13-01", "2024-02-30", "2024-05-01T25:00", "0000-01-01", "0001-01-01",
    "0001-01-01T00:00+01:00", "9998-12-31", "9999-12-31T23:59:59-01:00", "9999-12-31", "2024-05-01T12:00:00Z",
    "2024-05-01T12:00:00+14:00", "2024-05-01 12:00", "20240501", "2024-W01-1", "1e10", "-1", "NaN", "inf",
    "2024-05-01T12:00:00.123456789Z", "2024-05-01Tz", "v1", "'; DROP TABLE versions; --",
]
iso_time = st.datetimes(timezones=st.one_of(st.none(), st.just(UTC), st.timezones())).map(
    lambda d: d.isoformat())
when = st.one_of(st.none(), st.sampled_from(ODD_TIMES), iso_time, st.text(max_size=25), st.integers(), st.floats())

ODD_DURATIONS = ["90s", "15m", "2h", "7d", "2w", "500ms", "0s", "-5m", "1.5h", "1e3s", "inf s", "nan", "5 d", "5D",
                 " 7d ", "1000y", "7", "", "d", "99999999999999999999w", "365000d", "365001d", "0.0001ms",
                 "1" * 400 + "s", "7d'; --"]
number = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-(10 ** 30),
                                                                               max_value=10 ** 30))
duration = st.one_of(st.none(), st.sampled_from(ODD_DURATIONS),
                     st.builds(lambda n, u: f"{n}{u}", number, st.sampled_from(["ms", "s", "m", "h", "d", "w", "y", ""])),
                     number, st.text(max_size=8))
confidence = st.one_of(number, st.sampled_from([0, 1, 0.5, "0.7", "high", "", None, "nan", "1e-400", True]))

json_leaf = st.one_of(st.none(), st.booleans(), number, st.text(max_size=20), st.sampled_from(["\ud800", "\x00"]))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                             st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                          max_leaves=8)
metadata = st.one_of(st.none(), st.dictionaries(st.text(max_size=10), json_value, max_size=4),
                     st.sampled_from([[], "a=b", 5, {"k": {1, 2}}, {"k": object()}, {1: "int key"}]))

# -- mostly-valid records: valid values with at most a few fields replaced by hostile ones --------------
# (independent hostile fields would make nearly every example an error and never exercise the writes)
name = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=30).filter(
    lambda t: t.strip())
valid_time = st.one_of(st.none(), st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1),
                                              timezones=st.just(UTC)).map(lambda d: d.isoformat()),
                       st.sampled_from(["2024-05-01", "2024-05-01T12:00:00Z", "1999-12-31T23:59:59+05:30"]))
valid_duration = st.one_of(st.none(), st.sampled_from(["90s", "15m", "2h", "7d", "2w", "500ms", 3600, 0.5]))
valid_metadata = st.one_of(st.none(), st.dictionaries(st.text(max_size=8), st.one_of(
    st.none(), st.booleans(), st.integers(-10 ** 6, 10 ** 6), st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(codec="utf-8"), max_size=20)), max_size=3))


def mostly_valid(data, valid: dict, hostile: dict, max_bad: int = 2) -> tuple[dict, set]:
    """Draw every field from `valid`, then replace up to `max_bad` of them with a draw from `hostile`."""
    fields = {k: data.draw(v, label=k) for k, v in valid.items()}
    bad = data.draw(st.sets(st.sampled_from(sorted(hostile)), max_size=max_bad), label="hostile fields")
    for key in sorted(bad):
        fields[key] = data.draw(hostile[key], label=f"hostile {key}")
    return fields, bad


FACT_VALID = {"subject": name, "predicate": name, "obj": name, "namespace": st.sampled_from(["default", "ns-a", "ns-b"]),
              "valid_from": valid_time, "ttl": valid_duration, "confidence": st.floats(0, 1),
              "source": st.sampled_from(["user", "tool", "model"]), "metadata": valid_metadata}
FACT_HOSTILE = {"subject": any_text, "predicate": any_text, "obj": any_text, "namespace": namespace,
                "valid_from": when, "ttl": duration, "confidence": confidence, "source": any_text,
                "metadata": metadata}
NOTE_VALID = {"text": name, "namespace": st.sampled_from(["default", "ns-a", "ns-b"]),
              "speaker": st.one_of(st.none(), name), "occurred_at": valid_time, "ttl": valid_duration,
              "metadata": valid_metadata, "thread": st.one_of(st.none(), st.sampled_from(["t1", "t2"]))}
NOTE_HOSTILE = {"text": any_text, "namespace": namespace, "speaker": any_text, "occurred_at": when,
                "ttl": duration, "metadata": metadata, "thread": any_text}
