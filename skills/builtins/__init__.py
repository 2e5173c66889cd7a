"""Built-in skills, useful offline: calculator, unit conversion, dates, memory and workspace files."""
from __future__ import annotations

from .calculator import calculate
from .dates import date_add, date_diff, weekday
from .files import read_file, write_file
from .memory_tools import forget, recall, remember
from .units import convert_units

BUILTIN_FUNCTIONS = [calculate, convert_units, date_add, date_diff, weekday, remember, recall, forget, read_file,
                     write_file]


def builtin_skills():
    from ..decorator import as_skill

    return [as_skill(f) for f in BUILTIN_FUNCTIONS]
