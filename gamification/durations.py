"""Durations written by operators (``TOKEN_TTL=30d``, ``--ttl 90d``), read without Django settings
so that ``zeeguu_site/settings.py`` can use it."""

import datetime as dt
import re

from django.utils.dateparse import parse_duration

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_UNITS = re.compile(r"(\d+)\s*([smhdw])", re.IGNORECASE)
_ONLY_UNITS = re.compile(r"(?:\s*\d+\s*[smhdw])+\s*", re.IGNORECASE)
# Beyond this an expiry date stops meaning anything (and far beyond it, datetimes overflow).
MAX_DURATION = dt.timedelta(days=3660)


def duration_parse(text: str) -> dt.timedelta:
    """A positive duration from whole seconds (``2592000``), units (``30d``, ``1d12h``, ``90m``;
    s, m, h, d, w) or what Django's ``parse_duration`` reads (``P30D``, ``30 00:00:00``).

    Raises ValueError for anything else, and for durations not above zero or above ten years.
    """
    value = text.strip()
    try:
        duration = _parse(value)
    except OverflowError:
        duration = None
    if duration is None:
        raise ValueError(f"{text!r} is not a duration; write seconds (3600), units (30d, 12h) or ISO 8601 (P30D).")
    if duration <= dt.timedelta(0):
        raise ValueError(f"{text!r} is not a positive duration.")
    if duration > MAX_DURATION:
        raise ValueError(f"{text!r} is longer than ten years.")
    return duration


def _parse(value: str) -> dt.timedelta | None:
    if not value:
        return None
    if value.isdigit():
        return dt.timedelta(seconds=int(value))
    if _ONLY_UNITS.fullmatch(value):
        return dt.timedelta(seconds=sum(int(n) * UNIT_SECONDS[unit.lower()] for n, unit in _UNITS.findall(value)))
    return parse_duration(value)
