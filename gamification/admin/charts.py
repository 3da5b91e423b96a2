"""The level chart on an activity type's page (SPEC §7): how many users hold each level."""

from django.db.models import Count

from gamification.models import ActivityType, Badge


def level_holders_chart(activity_type: ActivityType) -> dict:
    """How many users hold each level of a type, laid out as a horizontal bar chart: one grouped
    query. Colours come from the stylesheet (badge_levels.css), readable in light and dark mode."""
    rows = list(
        Badge.objects.filter(activity_type=activity_type)
        .annotate(holders=Count("user_badges"))
        .order_by("level")
        .values("level", "name", "threshold", "holders")
    )
    top = max((row["holders"] for row in rows), default=0)
    bar_height, gap, label_width, bar_area = 22, 8, 260, 420
    for index, row in enumerate(rows):
        row["y"] = index * (bar_height + gap)
        row["text_y"] = row["y"] + 16
        row["width"] = round(bar_area * row["holders"] / top, 1) if top else 0
        row["count_x"] = label_width + row["width"] + 6
    return {
        "rows": rows,
        "total": sum(row["holders"] for row in rows),
        "bar_height": bar_height,
        "label_width": label_width,
        "bar_area": bar_area,
        "width": label_width + bar_area + 80,
        "height": max(len(rows) * (bar_height + gap) - gap, bar_height),
    }
