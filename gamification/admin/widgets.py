"""Widgets of the admin console."""

from django import forms

from gamification.serializers.badges import bundled_icon_path


class BadgeIconSelect(forms.Select):
    """A select of bundled icon names. Each option carries its icon's URL, so that the learner's
    preview beside the level (gamification/admin/badge_levels.js) shows the icon picked."""

    def __init__(self, attrs=None, choices=()):
        super().__init__({"class": "badge-icon-select", **(attrs or {})}, choices)

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        url = bundled_icon_path(value) if value else None
        if url:
            option["attrs"]["data-icon-url"] = url
        return option


class ColorSwatchSelect(forms.RadioSelect):
    """Radio buttons drawn as colour swatches, the hex value beside each (avatar colours)."""

    template_name = "admin/gamification/widgets/color_swatches.html"
    option_template_name = "admin/gamification/widgets/color_swatch_option.html"
