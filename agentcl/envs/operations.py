"""The capabilities behind DriftWorld's simulated tools: pure functions over canonical inputs.

A scenario's tools are versioned *signatures* over one of these operations; the operation itself never
changes, so the expected output of a task is well defined at every step.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

_LENGTH_M = {"m": 1.0, "km": 1000.0, "mi": 1609.344, "ft": 0.3048}
_MASS_KG = {"kg": 1.0, "lb": 0.45359237, "g": 0.001}
_UNIT_NAMES = {"m": "meters", "km": "km", "mi": "miles", "ft": "feet", "kg": "kg", "lb": "pounds", "g": "grams",
               "c": "degrees Celsius", "f": "degrees Fahrenheit"}
_RATES_PER_USD = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 150.0, "CHF": 0.88}
_TZ_OFFSET = {"UTC": 0, "CET": 1, "EST": -5, "JST": 9, "IST": 5.5}


class OperationError(ValueError):
    """Inputs that the operation cannot handle (bad unit, bad date): becomes a tool error."""


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise OperationError(f"{name} must be a number")
    try:
        return float(value)
    except ValueError as exc:
        raise OperationError(f"{name} must be a number, got {value!r}") from exc


def convert_units(value: Any, from_unit: Any, to_unit: Any) -> float:
    x, src, dst = _number(value, "value"), str(from_unit).lower(), str(to_unit).lower()
    if src in ("c", "f") and dst in ("c", "f"):
        celsius = x if src == "c" else (x - 32) * 5 / 9
        return round(celsius if dst == "c" else celsius * 9 / 5 + 32, 3)
    for table in (_LENGTH_M, _MASS_KG):
        if src in table and dst in table:
            return round(x * table[src] / table[dst], 3)
    raise OperationError(f"cannot convert {from_unit!r} to {to_unit!r}")


def currency_convert(amount: Any, from_currency: Any, to_currency: Any) -> float:
    x, src, dst = _number(amount, "amount"), str(from_currency).upper(), str(to_currency).upper()
    if src not in _RATES_PER_USD or dst not in _RATES_PER_USD:
        raise OperationError(f"unknown currency in {from_currency!r} -> {to_currency!r}")
    return round(x / _RATES_PER_USD[src] * _RATES_PER_USD[dst], 2)


def add_days(start: Any, days: Any) -> str:
    try:
        day = date.fromisoformat(str(start))
    except ValueError as exc:
        raise OperationError(f"start must be a YYYY-MM-DD date, got {start!r}") from exc
    return (day + timedelta(days=int(_number(days, "days")))).isoformat()


def percent_of(percent: Any, value: Any) -> float:
    return round(_number(percent, "percent") * _number(value, "value") / 100, 3)


def timezone_convert(time: Any, from_tz: Any, to_tz: Any) -> str:
    src, dst = str(from_tz).upper(), str(to_tz).upper()
    if src not in _TZ_OFFSET or dst not in _TZ_OFFSET:
        raise OperationError(f"unknown time zone in {from_tz!r} -> {to_tz!r}")
    try:
        hours, minutes = (int(part) for part in str(time).split(":"))
    except ValueError as exc:
        raise OperationError(f"time must be HH:MM, got {time!r}") from exc
    total = (hours * 60 + minutes + round((_TZ_OFFSET[dst] - _TZ_OFFSET[src]) * 60)) % (24 * 60)
    return f"{total // 60:02d}:{total % 60:02d}"


def _gen_convert(rng: random.Random) -> dict[str, Any]:
    pair = rng.choice([("km", "mi"), ("mi", "km"), ("kg", "lb"), ("lb", "kg"), ("c", "f"), ("f", "c"),
                       ("m", "ft"), ("ft", "m")])
    return {"value": rng.randint(1, 120), "from_unit": pair[0], "to_unit": pair[1]}


def _gen_currency(rng: random.Random) -> dict[str, Any]:
    src, dst = rng.sample(sorted(_RATES_PER_USD), 2)
    return {"amount": rng.randint(5, 900), "from_currency": src, "to_currency": dst}


def _gen_days(rng: random.Random) -> dict[str, Any]:
    start = date(2026, 1, 1) + timedelta(days=rng.randint(0, 364))
    return {"start": start.isoformat(), "days": rng.randint(1, 90)}


def _gen_percent(rng: random.Random) -> dict[str, Any]:
    return {"percent": rng.choice([5, 10, 12.5, 15, 20, 25, 33, 40, 75]), "value": rng.randint(10, 2000)}


def _gen_tz(rng: random.Random) -> dict[str, Any]:
    src, dst = rng.sample(sorted(_TZ_OFFSET), 2)
    return {"time": f"{rng.randint(0, 23):02d}:{rng.choice([0, 15, 30, 45]):02d}", "from_tz": src, "to_tz": dst}


def _unit(name: str) -> str:
    return _UNIT_NAMES.get(str(name).lower(), str(name))


@dataclass(frozen=True)
class Operation:
    name: str
    func: Callable[..., Any]
    inputs: tuple[tuple[str, str], ...]  # (canonical name, JSON type)
    generate: Callable[[random.Random], dict[str, Any]]
    render: Callable[[dict[str, Any]], str]
    description: str


OPERATIONS: dict[str, Operation] = {op.name: op for op in [
    Operation("convert_units", convert_units, (("value", "number"), ("from_unit", "string"), ("to_unit", "string")),
              _gen_convert, lambda i: f"Convert {i['value']} {_unit(i['from_unit'])} to {_unit(i['to_unit'])}.",
              "Convert a quantity between units (km, mi, m, ft, kg, lb, g, c, f)."),
    Operation("currency_convert", currency_convert,
              (("amount", "number"), ("from_currency", "string"), ("to_currency", "string")),
              _gen_currency, lambda i: f"How much is {i['amount']} {i['from_currency']} in {i['to_currency']}?",
              "Convert money between currencies (USD, EUR, GBP, JPY, CHF)."),
    Operation("add_days", add_days, (("start", "string"), ("days", "integer")), _gen_days,
              lambda i: f"What date is {i['days']} days after {i['start']}?",
              "Add a number of days to a YYYY-MM-DD date."),
    Operation("percent_of", percent_of, (("percent", "number"), ("value", "number")), _gen_percent,
              lambda i: f"What is {i['percent']}% of {i['value']}?", "Compute a percentage of a value."),
    Operation("timezone_convert", timezone_convert, (("time", "string"), ("from_tz", "string"), ("to_tz", "string")),
              _gen_tz, lambda i: f"What time is {i['time']} {i['from_tz']} in {i['to_tz']}?",
              "Convert an HH:MM clock time between time zones (UTC, CET, EST, JST, IST)."),
]}


def outputs_match(got: Any, expected: Any) -> bool:
    """Tool outputs agree: numbers within a small tolerance, anything else by string equality."""
    if isinstance(expected, float) or isinstance(got, float):
        try:
            return abs(float(got) - float(expected)) <= 1e-6 + 1e-6 * abs(float(expected))
        except (TypeError, ValueError):
            return False
    return str(got) == str(expected)
