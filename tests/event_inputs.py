"""Values shared by the tests that hold a plain-checks path to its serializer
(tests/api/test_events_fast.py, tests/commands/test_import_fast.py): the event fields, and
values any field may refuse or that the plain checks leave to the serializer. Each test adds
the times and names that matter to its own rules."""

FIELDS = [
    "type",
    "occurred_at",
    "language",
    "idempotency_key",
    "user",
    "external_user_id",
    "word",
    "correct",
    "lesson_id",
    "article_id",
    "kind",
    "duration_seconds",
]
ODD_VALUES = [
    None,
    "",
    " ",
    "\x00",
    "\ud800",
    True,
    0,
    -1,
    1.5,
    86_401,
    86_400,
    10**40,
    [],
    {},
    "x" * 101,
    "x" * 100,
    "de ",
    "xx",
    "reading",
    "talking",
    "u-7",
    "ghost",
]
