"""Durations operators write (``TOKEN_TTL``, ``create_service_account --ttl``)."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gamification.durations import duration_parse

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2592000", dt.timedelta(days=30)),
        ("30d", dt.timedelta(days=30)),
        (" 12h ", dt.timedelta(hours=12)),
        ("1d12h", dt.timedelta(days=1, hours=12)),
        ("1h 30m", dt.timedelta(minutes=90)),
        ("2W", dt.timedelta(weeks=2)),
        ("45s", dt.timedelta(seconds=45)),
        ("P30D", dt.timedelta(days=30)),
        ("30 00:00:00", dt.timedelta(days=30)),
    ],
)
def test_accepted_durations(text, expected):
    assert duration_parse(text) == expected


@pytest.mark.parametrize(
    "text", ["", "  ", "0", "0d", "-5", "abc", "30x", "1.5d", "P-1D", "3661d", "99999999999999999999", "9" * 30 + "d"]
)
def test_refused_durations_raise_value_error(text):
    with pytest.raises(ValueError):
        duration_parse(text)


def _token_ttl_with(value: str) -> subprocess.CompletedProcess:
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='zeeguu_site.settings'; django.setup(); "
        "from django.conf import settings; print(settings.TOKEN_TTL.total_seconds(), "
        "settings.REST_KNOX['TOKEN_TTL'].total_seconds())"
    )
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "TOKEN_TTL", "DJANGO_SETTINGS_MODULE"}}
    env = {**clean, "SECRET_KEY": "x" * 50}
    if value:
        env["TOKEN_TTL"] = value
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=False)


def test_token_ttl_comes_from_the_environment_with_a_30_day_default():
    assert _token_ttl_with("").stdout.split() == ["2592000.0", "2592000.0"]
    assert _token_ttl_with("12h").stdout.split() == ["43200.0", "43200.0"]
    assert _token_ttl_with("3600").stdout.split() == ["3600.0", "3600.0"]


def test_a_bad_token_ttl_stops_the_start():
    result = _token_ttl_with("forever")
    assert result.returncode != 0
    assert "TOKEN_TTL" in result.stderr and "ImproperlyConfigured" in result.stderr
