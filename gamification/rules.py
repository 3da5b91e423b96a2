"""The activity types the code knows and what feeds each (SPEC §2.3): the one registry.

Staff edit the catalogue rows (names, levels, thresholds, icons); the codes and how each metric
moves are the code's. Every module that feeds a metric, and the admin that guards the catalogue,
read this registry; the system check ``gamification.E001``/``W002`` (``manage.py check
--database default``, and ``migrate``) compares it with the loaded catalogue.

A new activity type is: an entry here, the code that feeds it (named in ``fed_by``), and its rows
in ``fixtures/default_badges.json``.
"""

from dataclasses import dataclass

from gamification.models import AwardMechanism, EventType, FirstOccurrence


@dataclass(frozen=True)
class ActivityRule:
    code: str
    mechanism: str  # an AwardMechanism value
    fed_by: str  # what moves the metric, for people (the admin shows it)
    # COUNTERs fed by events: the event type, and the FirstOccurrence kind when an item counts
    # once (a word per user and language, a lesson or an article per user).
    event_type: str | None = None
    counts_once_as: str | None = None


TRANSLATED_WORDS = "TRANSLATED_WORDS"
CORRECT_EXERCISES = "CORRECT_EXERCISES"
COMPLETED_AUDIO_LESSONS = "COMPLETED_AUDIO_LESSONS"
STREAK_DAYS = "STREAK_DAYS"
LEARNED_WORDS = "LEARNED_WORDS"
READ_ARTICLES = "READ_ARTICLES"
FRIENDS = "FRIENDS"
PROFILE_CUSTOMISED = "PROFILE_CUSTOMISED"
CLASSROOM_JOINED = "CLASSROOM_JOINED"

RULES: dict[str, ActivityRule] = {
    rule.code: rule
    for rule in (
        ActivityRule(
            TRANSLATED_WORDS,
            AwardMechanism.COUNTER,
            "word_translated events; each word once per language (services.events)",
            EventType.WORD_TRANSLATED,
            FirstOccurrence.Kind.TRANSLATED_WORD,
        ),
        ActivityRule(
            CORRECT_EXERCISES,
            AwardMechanism.COUNTER,
            "exercise_answered events with correct: true (services.events)",
            EventType.EXERCISE_ANSWERED,
        ),
        ActivityRule(
            COMPLETED_AUDIO_LESSONS,
            AwardMechanism.COUNTER,
            "audio_lesson_completed events; each lesson once (services.events)",
            EventType.AUDIO_LESSON_COMPLETED,
            FirstOccurrence.Kind.AUDIO_LESSON,
        ),
        ActivityRule(
            STREAK_DAYS,
            AwardMechanism.GAUGE,
            "the best current daily streak over languages (services.streaks)",
        ),
        ActivityRule(
            LEARNED_WORDS,
            AwardMechanism.COUNTER,
            "word_learned events; each word once per language (services.events)",
            EventType.WORD_LEARNED,
            FirstOccurrence.Kind.LEARNED_WORD,
        ),
        ActivityRule(
            READ_ARTICLES,
            AwardMechanism.COUNTER,
            "article_read events; each article once (services.events)",
            EventType.ARTICLE_READ,
            FirstOccurrence.Kind.ARTICLE,
        ),
        ActivityRule(FRIENDS, AwardMechanism.GAUGE, "the number of current friendships (services.friends)"),
        ActivityRule(PROFILE_CUSTOMISED, AwardMechanism.ONE_TIME, "the first change of one's avatar (services.users)"),
        ActivityRule(
            CLASSROOM_JOINED, AwardMechanism.ONE_TIME, "joining a first classroom as a student (services.classrooms)"
        ),
    )
}

# Event type → (FirstOccurrence kind, activity type code), for the events whose item counts once.
COUNTED_ONCE: dict[str, tuple[str, str]] = {
    rule.event_type: (rule.counts_once_as, rule.code) for rule in RULES.values() if rule.counts_once_as
}
# The COUNTERs the activity log feeds (rebuilt from it by rebuild_metrics).
EVENT_FED_CODES: tuple[str, ...] = tuple(rule.code for rule in RULES.values() if rule.event_type)


def rule_for(code: str) -> ActivityRule | None:
    return RULES.get(code)
