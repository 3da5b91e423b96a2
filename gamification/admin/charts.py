"""The level chart on an activity type's page (SPEC §7): how many users hold each level."""

from django.db.models import Count

from gamification.models import ActivityType, Badge


def level_holders_chart(activity_type: ActivityType) -> dict:
    """How many users hold each level of a type, for a bar chart (one grouped query). Each row's
    ``percent`` is its bar's length, relative to the level most users hold; the page draws the
    bars with CSS (badge_levels.css), readable in light and dark mode and on a phone."""
    rows = list(
        Badge.objects.filter(activity_type=activity_type)
        .annotate(holders=Count("user_badges"))
        .order_by("level")
        .values("level", "name", "threshold", "holders")
    )
    top = max((row["holders"] for row in rows), default=0)
    for row in rows:
        row["percent"] = round(100 * row["holders"] / top, 1) if top else 0
    return {"rows": rows, "total": sum(row["holders"] for row in rows)}
