import factory
from django.utils import timezone

from gamification.models import ActivityEvent, Classroom, ClassroomMembership, ClassroomRole, Friendship, User
from gamification.services.users import user_create

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    """Users made by the sign-up service: generated username and avatar unless given."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"learner{n}@example.com")
    password = DEFAULT_PASSWORD
    name = ""
    timezone = "UTC"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return user_create(**kwargs)


class EventFactory(factory.django.DjangoModelFactory):
    """A raw activity-log row (bypasses ingestion: use it for read-side tests)."""

    class Meta:
        model = ActivityEvent

    user = factory.SubFactory(UserFactory)
    type = "practice"
    occurred_at = factory.LazyFunction(timezone.now)
    language_id = "de"


class ClassroomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Classroom

    name = factory.Sequence(lambda n: f"Class {n}")
    invite_code = factory.Sequence(lambda n: f"INVITE{n:06d}")
    language_id = "de"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClassroomMembership

    classroom = factory.SubFactory(ClassroomFactory)
    user = factory.SubFactory(UserFactory)
    role = ClassroomRole.STUDENT


def make_friends(a: User, b: User, *, since=None) -> Friendship:
    """A friendship row straight in the database (read-side tests; services are tested apart)."""
    low, high = sorted([a, b], key=lambda u: u.pk)
    return Friendship.objects.create(user_low=low, user_high=high, created_at=since or timezone.now())


def make_friend_request(sender: User, receiver: User, *, created_at=None):
    """A pending friend request row straight in the database (read-side tests)."""
    from gamification.models import FriendRequest

    low, high = sorted([sender, receiver], key=lambda u: u.pk)
    request = FriendRequest.objects.create(sender=sender, receiver=receiver, user_low=low, user_high=high)
    if created_at is not None:
        FriendRequest.objects.filter(pk=request.pk).update(created_at=created_at)
        request.refresh_from_db(fields=["created_at"])
    return request
