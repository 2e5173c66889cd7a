"""Unit conversion for length, mass, time, volume, area, speed, data and temperature. Pure tables."""
from __future__ import annotations

from ..decorator import skill

_FACTORS: dict[str, dict[str, float]] = {
    "length": {"m": 1, "km": 1000, "cm": 0.01, "mm": 0.001, "um": 1e-6, "nm": 1e-9, "mi": 1609.344,
               "yd": 0.9144, "ft": 0.3048, "in": 0.0254, "nmi": 1852},
    "mass": {"kg": 1, "g": 0.001, "mg": 1e-6, "t": 1000, "lb": 0.45359237, "oz": 0.028349523125, "st": 6.35029318},
    "time": {"s": 1, "ms": 0.001, "min": 60, "h": 3600, "day": 86400, "week": 604800, "year": 31557600},
    "volume": {"l": 1, "ml": 0.001, "m3": 1000, "gal": 3.785411784, "qt": 0.946352946, "pt": 0.473176473,
               "cup": 0.2365882365, "floz": 0.0295735295625},
    "area": {"m2": 1, "km2": 1e6, "cm2": 1e-4, "ha": 1e4, "acre": 4046.8564224, "ft2": 0.09290304, "mi2": 2589988.110336},
    "speed": {"m/s": 1, "km/h": 1 / 3.6, "mph": 0.44704, "knot": 0.514444, "ft/s": 0.3048},
    "data": {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3},
}
_ALIASES = {
    "meter": "m", "meters": "m", "metre": "m", "kilometer": "km", "kilometers": "km", "centimeter": "cm",
    "centimeters": "cm", "millimeter": "mm", "millimeters": "mm", "mile": "mi", "miles": "mi", "yard": "yd",
    "yards": "yd", "foot": "ft", "feet": "ft", "inch": "in", "inches": "in", "kilogram": "kg", "kilograms": "kg",
    "gram": "g", "grams": "g", "pound": "lb", "pounds": "lb", "lbs": "lb", "ounce": "oz", "ounces": "oz",
    "tonne": "t", "tonnes": "t", "second": "s", "seconds": "s", "sec": "s", "minute": "min", "minutes": "min",
    "hour": "h", "hours": "h", "hr": "h", "days": "day", "d": "day", "weeks": "week", "years": "year",
    "liter": "l", "liters": "l", "litre": "l", "litres": "l", "milliliter": "ml", "gallon": "gal", "gallons": "gal",
    "kph": "km/h", "kmh": "km/h", "mps": "m/s", "knots": "knot", "c": "celsius", "f": "fahrenheit",
    "k": "kelvin", "degc": "celsius", "degf": "fahrenheit", "byte": "b", "bytes": "b",
}
_TEMPERATURE = ("celsius", "fahrenheit", "kelvin")


def _canon(unit: str) -> str:
    key = unit.strip().lower().replace("°", "deg").replace(" ", "")
    return _ALIASES.get(key, key)


def _to_kelvin(value: float, unit: str) -> float:
    return {"celsius": value + 273.15, "fahrenheit": (value - 32) * 5 / 9 + 273.15, "kelvin": value}[unit]


def _from_kelvin(value: float, unit: str) -> float:
    return {"celsius": value - 273.15, "fahrenheit": (value - 273.15) * 9 / 5 + 32, "kelvin": value}[unit]


def convert(value: float, from_unit: str, to_unit: str) -> float:
    src, dst = _canon(from_unit), _canon(to_unit)
    if src in _TEMPERATURE or dst in _TEMPERATURE:
        if src not in _TEMPERATURE or dst not in _TEMPERATURE:
            raise ValueError(f"cannot convert {from_unit} to {to_unit}")
        return _from_kelvin(_to_kelvin(value, src), dst)
    for table in _FACTORS.values():
        if src in table and dst in table:
            return value * table[src] / table[dst]
    known = sorted({u for t in _FACTORS.values() for u in t} | set(_TEMPERATURE))
    raise ValueError(f"cannot convert {from_unit!r} to {to_unit!r}; known units: {', '.join(known)}")


@skill(tags=["units"], examples=["How many kilometers is 26.2 miles?", "Convert 100 Fahrenheit to Celsius"])
def convert_units(value: float, from_unit: str, to_unit: str) -> float:
    """Convert a quantity between units of length, mass, time, volume, area, speed, data or temperature.

    Args:
        value: The quantity to convert.
        from_unit: The unit of the value, for example "mi", "kg", "celsius", "km/h".
        to_unit: The unit to convert to.
    """
    return round(convert(float(value), from_unit, to_unit), 10)
