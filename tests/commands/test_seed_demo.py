import pytest
from django.core.management import CommandError, call_command

from gamification.models import ActivityEvent, Classroom, Friendship, User, UserBadge
from tests.conftest import client_for
from tests.factories import UserFactory


def counts() -> tuple[int, ...]:
    return (
        User.objects.count(),
        Friendship.objects.count(),
        ActivityEvent.objects.count(),
        UserBadge.objects.count(),
        Classroom.objects.count(),
    )


@pytest.mark.django_db
def test_seed_demo_creates_a_lively_site_and_is_idempotent(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo", password="demo-password-1")
    first = counts()
    call_command("seed_demo", password="demo-password-2", base_url="http://127.0.0.1:8766")

    assert counts() == first
    assert first[0] == 6 and first[1] == 5 and first[2] > 100 and first[3] > 0 and first[4] == 1
    admin = User.objects.get(email="admin@example.com")
    assert admin.is_staff and admin.check_password("demo-password-2")
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8766/admin/     admin@example.com / demo-password-2" in out
    assert "http://127.0.0.1:8766/api/docs/" in out


@pytest.mark.django_db
def test_seed_demo_refuses_to_run_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG=1"):
        call_command("seed_demo")
    assert not User.objects.exists()


@pytest.mark.django_db
def test_demo_learners_see_the_gamification_features(settings):
    settings.DEBUG = True
    call_command("seed_demo", password="demo-password-1")

    for username in ("ada", "bruno", "chen", "dora", "emil"):
        me = client_for(User.objects.get(username=username)).get("/api/me/").json()
        assert me["features"] == {"gamification": True}, username
    other = UserFactory()
    assert client_for(other).get("/api/me/").json()["features"] == {"gamification": False}
