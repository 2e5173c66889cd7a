"""JSON text that is always valid JSON: Python's json writes NaN and Infinity, which no JSON parser
accepts (and a saved report with them is read back as NaN again). A number that is not finite becomes
null, the same as "no value" everywhere else in agentcl's JSON (pure functions)."""
from __future__ import annotations

import json
import math
import numbers
from typing import Any


def finite(value: Any) -> Any:
    """`value` with every NaN or +-Infinity (numpy's too) replaced by None, in dicts, lists and tuples."""
    if isinstance(value, float):  # numpy.float64 is a float
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {_key(k): finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def _key(key: Any) -> Any:
    # json writes a float key as text; a non-finite one as "NaN", which allow_nan=False refuses
    return key if not isinstance(key, float) or math.isfinite(key) else str(key)


def _default(value: Any) -> Any:
    """What json cannot write itself: numpy/Decimal numbers as numbers (non-finite as null), else text."""
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    return str(value)


def dumps(value: Any, **options: Any) -> str:
    """json.dumps that never writes NaN or Infinity (they become null); other objects are written as text."""
    return json.dumps(finite(value), allow_nan=False, default=_default, **options)
