"""Usernames: generation at sign-up and availability (SPEC §1.2). What a chosen username may
look like is ``gamification.validators.username_normalize``."""

import random
import re
from collections.abc import Callable, Iterable, Iterator

from gamification.constants import ADJECTIVES, ANIMALS
from gamification.models import User

# Suffix ranges tried after the bare pair, smallest first; a few random picks from each.
SUFFIX_RANGES: tuple[tuple[int, int], ...] = ((1, 9), (10, 99), (100, 999), (1000, 9999))
PICKS_PER_RANGE = 6
FALLBACK_SUFFIX_RANGE = (10_000, 99_999_999)
FALLBACK_PICKS = 20


def username_is_taken(username: str, *, exclude_user_id: int | None = None) -> bool:
    queryset = User.objects.filter(username_key=username.lower())
    if exclude_user_id is not None:
        queryset = queryset.exclude(pk=exclude_user_id)
    return queryset.exists()


def _taken_keys(candidates: Iterable[str]) -> set[str]:
    """The lower-cased usernames among ``candidates`` that someone already holds (one query)."""
    keys = {candidate.lower() for candidate in candidates}
    if not keys:
        return set()
    return set(User.objects.filter(username_key__in=keys).values_list("username_key", flat=True))


def _candidate_rounds(base: str, rng: random.Random) -> Iterator[list[str]]:
    """The candidates for one base, round by round: the bare pair, then a few random suffixes
    from each range of ``SUFFIX_RANGES``, then a last, wide range."""
    yield [base]
    for low, high in SUFFIX_RANGES:
        yield [f"{base}{rng.randint(low, high)}" for _ in range(PICKS_PER_RANGE)]
    low, high = FALLBACK_SUFFIX_RANGE
    yield [f"{base}{rng.randint(low, high)}" for _ in range(FALLBACK_PICKS)]


def usernames_generate(
    count: int, *, rng: random.Random | None = None, pick: Callable | None = None, reserved: Iterable[str] = ()
) -> list[str]:
    """``count`` distinct free ``<adjective>_<animal>[digits]`` names (none of them, ignoring
    case, in ``reserved``).

    Each name tries its bare pair, then random suffixes from growing ranges (≤9, ≤99, ≤999,
    ≤9999), then a last, wide range: one query per round for all the names still looking, so a
    thousand names cost as many queries as one. Bounded: it never loops forever. A clash with a
    concurrent sign-up is caught at insert by the caller and retried.
    """
    rng = rng or random.SystemRandom()
    pick = pick or rng.choice
    chosen: list[str | None] = [None] * count
    used = {name.lower() for name in reserved}
    rounds = [_candidate_rounds(f"{pick(ADJECTIVES)}_{pick(ANIMALS)}", rng) for _ in range(count)]
    pending = list(range(count))
    while pending:
        candidates = {index: next(rounds[index], None) for index in pending}
        if any(names is None for names in candidates.values()):
            raise RuntimeError("No free username found; the name space is exhausted.")
        taken = _taken_keys(name for names in candidates.values() for name in names) | used
        for index, names in candidates.items():
            free = next((name for name in dict.fromkeys(names) if name.lower() not in taken), None)
            if free is not None:
                chosen[index] = free
                taken.add(free.lower())
                used.add(free.lower())
        pending = [index for index in pending if chosen[index] is None]
    return [name for name in chosen if name is not None]


def username_generate(*, rng: random.Random | None = None, pick: Callable | None = None) -> str:
    """A free ``<adjective>_<animal>[digits]`` name (``usernames_generate`` of one)."""
    return usernames_generate(1, rng=rng, pick=pick)[0]


def animal_of(username: str) -> str | None:
    """The animal of a generated username (``brave_otter42`` → ``otter``), if it has one."""
    match = re.fullmatch(r"[a-z]+_([a-z]+?)\d*", username)
    if match and match.group(1) in ANIMALS:
        return match.group(1)
    return None
