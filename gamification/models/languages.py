from django.db import models


class Language(models.Model):
    """A language the platform teaches, by its ISO 639-1 code (seeded by a migration)."""

    code = models.CharField(max_length=8, primary_key=True)
    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"
