"""The admin console (SPEC §7), one module per area."""

from gamification.admin import activity, badges, classrooms, friends, safety, tasks, tokens, users, webhooks  # noqa: F401
