"""The language codes the service knows, cached per process.

Every reported event names a language; reading the ``Language`` table for each request cost a
query on the hot path of ``POST /api/events/`` (and of its queued 202). Languages are seeded by
migrations and not editable in the admin, so they change almost never. Each process keeps the
codes it last read, per database, and reads them again:

- when a code is asked for that the copy does not have (a language added since is known at
  once, in every process);
- when the copy is older than ``LANGUAGE_CODES_TTL`` seconds (a language removed from the
  table by hand is forgotten within that time);
- when a ``Language`` is saved or deleted in this process (``forget``, connected in
  ``gamification.signals``).

Inside a transaction the codes are read afresh and not kept: such a read may see the
transaction's own uncommitted rows, which a rollback would take back.
"""

import time
from dataclasses import dataclass, field

from django.db import connections, router

from gamification.models import Language

LANGUAGE_CODES_TTL = 60.0


@dataclass
class _Copy:
    codes: frozenset[str]
    read_at: float


_copies: dict[str, _Copy] = {}


def language_codes_read(*, using: str | None = None) -> frozenset[str]:
    """The known codes, read now (one query): for a long job that reads them once, like the
    import, and inside transactions."""
    languages = Language.objects.using(using) if using else Language.objects
    return frozenset(languages.values_list("code", flat=True))


def _read(using: str) -> _Copy:
    copy = _Copy(language_codes_read(using=using), time.monotonic())
    _copies[using] = copy
    return copy


@dataclass
class KnownLanguages:
    """A set-like view of the known codes (``code in known``) for one request: the process's
    copy, read again at most once when a code is missing from it."""

    using: str
    _copy: _Copy | None = None
    _reread: bool = field(default=False)

    def _current(self) -> _Copy:
        if self._copy is None:
            copy = _copies.get(self.using)
            if copy is None or time.monotonic() - copy.read_at > LANGUAGE_CODES_TTL:
                copy = _read(self.using)
                self._reread = True
            self._copy = copy
        return self._copy

    def __contains__(self, code: object) -> bool:
        if code in self._current().codes:
            return True
        if self._reread:
            return False
        self._reread = True
        self._copy = _read(self.using)
        return code in self._copy.codes

    def __iter__(self):
        return iter(self._current().codes)

    def __len__(self) -> int:
        return len(self._current().codes)


def known_languages() -> KnownLanguages | frozenset[str]:
    """The known language codes (``code in known``), for the database events are written to:
    the process's copy, or a fresh read inside a transaction."""
    using = router.db_for_write(Language)
    if connections[using].in_atomic_block:
        return language_codes_read(using=using)
    return KnownLanguages(using=using)


def forget() -> None:
    """Drop every copy (a ``Language`` changed in this process)."""
    _copies.clear()
