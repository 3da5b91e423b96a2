"""Usernames: generation at sign-up and availability (SPEC §1.2). What a chosen username may
look like is ``gamification.validators.username_normalize``."""

import random
import re
from collections.abc import Callable, Iterable

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


def _first_free(candidates: Iterable[str]) -> str | None:
    candidates = list(dict.fromkeys(candidates))
    taken = set(
        User.objects.filter(username_key__in=[c.lower() for c in candidates]).values_list("username_key", flat=True)
    )
    return next((c for c in candidates if c.lower() not in taken), None)


def username_generate(*, rng: random.Random | None = None, pick: Callable | None = None) -> str:
    """A free ``<adjective>_<animal>[digits]`` name.

    Tries the bare pair, then random suffixes from growing ranges (≤9, ≤99, ≤999, ≤9999), one
    query per range; then a last, wide range. Bounded: it never loops forever. A clash with a
    concurrent sign-up is caught at insert by the caller and retried.
    """
    rng = rng or random.SystemRandom()
    pick = pick or rng.choice
    base = f"{pick(ADJECTIVES)}_{pick(ANIMALS)}"
    if (free := _first_free([base])) is not None:
        return free
    for low, high in SUFFIX_RANGES:
        candidates = [f"{base}{rng.randint(low, high)}" for _ in range(PICKS_PER_RANGE)]
        if (free := _first_free(candidates)) is not None:
            return free
    low, high = FALLBACK_SUFFIX_RANGE
    candidates = [f"{base}{rng.randint(low, high)}" for _ in range(FALLBACK_PICKS)]
    if (free := _first_free(candidates)) is not None:
        return free
    raise RuntimeError("No free username found; the name space is exhausted.")


def animal_of(username: str) -> str | None:
    """The animal of a generated username (``brave_otter42`` → ``otter``), if it has one."""
    match = re.fullmatch(r"[a-z]+_([a-z]+?)\d*", username)
    if match and match.group(1) in ANIMALS:
        return match.group(1)
    return None
