"""Schemathesis hooks for bench/fuzz_api.py, which loads them through ``SCHEMATHESIS_HOOKS``.

Purely random values rarely get past validation: an ``occurred_at`` within the last 30 days, a
language the service knows or an existing username are needles in a haystack. So, in positive
(schema-valid) cases only, some generated values are swapped for real ones, chosen
deterministically from the generated value (runs stay reproducible by seed):

- events: every ``occurred_at`` becomes a time in the last 29 days, ``language`` a known code,
  a named ``user`` one of the fuzzing accounts;
- usernames in paths and the friend request ``receiver``: a known username, for half the cases;
- classroom ids in paths and invite codes: a known one, for half the cases;
- sign-up: the email becomes a fresh, valid address (so strong generated passwords get a 201);
- sign-up and profile changes: a ``timezone`` becomes an IANA name, for half the cases.

Negative cases are never touched, so whatever makes them invalid stays. The known values come
from the environment (``FUZZ_USERNAMES``, ``FUZZ_LANGUAGES``, ``FUZZ_CLASSROOM_IDS``,
``FUZZ_INVITE_CODES``, comma-separated), set by bench/fuzz_api.py.
"""

import datetime as dt
import os
import zlib
from typing import Any

import schemathesis

EVENTS_PATH = "/api/events/"
FRIEND_REQUESTS_PATH = "/api/friend-requests/"
CLASSROOM_JOIN_PATH = "/api/classrooms/join/"
REGISTER_PATH = "/api/auth/register/"
ME_PATH = "/api/me/"
MAX_AGE_SECONDS = 29 * 86_400
TIMEZONES = ["UTC", "Europe/Copenhagen", "America/New_York", "Asia/Kolkata", "Pacific/Kiritimati"]


def _known(name: str) -> list[str]:
    return [value for value in os.environ.get(name, "").split(",") if value]


USERNAMES = _known("FUZZ_USERNAMES")
LANGUAGES = _known("FUZZ_LANGUAGES")
CLASSROOM_IDS = [int(value) for value in _known("FUZZ_CLASSROOM_IDS")]
INVITE_CODES = _known("FUZZ_INVITE_CODES")


def _digest(value: Any) -> int:
    return zlib.crc32(repr(value).encode("utf-8", "surrogatepass"))


def _pick(options: list, value: Any) -> Any:
    return options[_digest(value) % len(options)] if options else value


def _half(value: Any) -> bool:
    return _digest(value) % 2 == 0


def _realistic_event(event: dict) -> None:
    if "occurred_at" in event:
        age = dt.timedelta(seconds=_digest(event["occurred_at"]) % MAX_AGE_SECONDS)
        event["occurred_at"] = (dt.datetime.now(dt.UTC) - age).isoformat()
    if "language" in event:
        event["language"] = _pick(LANGUAGES, event["language"])
    if isinstance(event.get("user"), str):
        event["user"] = _pick(USERNAMES, event["user"])


@schemathesis.hook
def map_case(context, case):
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return case
    path = case.operation.path
    if path == EVENTS_PATH and isinstance(case.body, dict):
        events = case.body.get("events") if "events" in case.body else [case.body]
        for event in events if isinstance(events, list) else []:
            if isinstance(event, dict):
                _realistic_event(event)
    if isinstance(case.path_parameters, dict):
        parameters = case.path_parameters
        if "username" in parameters and _half(parameters["username"]):
            parameters["username"] = _pick(USERNAMES, parameters["username"])
        if "classroom_id" in parameters and _half(parameters["classroom_id"]):
            parameters["classroom_id"] = _pick(CLASSROOM_IDS, parameters["classroom_id"])
    body = case.body
    if isinstance(body, dict) and path in (REGISTER_PATH, ME_PATH) and "timezone" in body and _half(body["timezone"]):
        body["timezone"] = _pick(TIMEZONES, body["timezone"])
    if isinstance(case.body, dict) and case.method.upper() == "POST":
        if path == FRIEND_REQUESTS_PATH and "receiver" in case.body and _half(case.body["receiver"]):
            case.body["receiver"] = _pick(USERNAMES, case.body["receiver"])
        if path == CLASSROOM_JOIN_PATH and "invite_code" in case.body and _half(case.body["invite_code"]):
            case.body["invite_code"] = _pick(INVITE_CODES, case.body["invite_code"])
        if path == REGISTER_PATH and "email" in case.body:
            case.body["email"] = f"fuzz-{_digest(case.body):08x}@example.com"
    return case
