from django.conf import settings
from django.db import models

from gamification.models.languages import Language


class ClassroomRole(models.TextChoices):
    STUDENT = "student"
    TEACHER = "teacher"


class Classroom(models.Model):
    name = models.CharField(max_length=100)
    invite_code = models.CharField(max_length=20, unique=True)
    language = models.ForeignKey(Language, on_delete=models.PROTECT, related_name="+")
    # Off by default: the teacher decides whether a class of minors is ranked.
    leaderboard_enabled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="ClassroomMembership", related_name="classrooms")

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ClassroomMembership(models.Model):
    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="classroom_memberships")
    role = models.CharField(max_length=10, choices=ClassroomRole.choices)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["classroom", "user"], name="classroommembership_unique_pair"),
        ]
        indexes = [models.Index(fields=["user", "role"], name="classroommember_user_role")]

    def __str__(self) -> str:
        return f"{self.user}, {self.role} in {self.classroom.name}"
