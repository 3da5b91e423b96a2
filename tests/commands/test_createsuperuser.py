import pytest
from django.core.management import CommandError, call_command

from gamification.constants import ANIMALS
from gamification.models import User


@pytest.mark.django_db
def test_noinput_creates_a_superuser_through_the_sign_up_service(monkeypatch, capsys):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-and-unusual-passphrase-42")

    call_command("createsuperuser", "--noinput", "--email", "Boss@Example.com")

    user = User.objects.get(email="boss@example.com")
    assert user.is_staff and user.is_superuser
    assert user.check_password("a-long-and-unusual-passphrase-42")
    assert user.username.split("_")[1].rstrip("0123456789") in ANIMALS
    assert user.avatar_image in ANIMALS
    assert f"username {user.username}" in capsys.readouterr().out


@pytest.mark.django_db
def test_the_password_rules_apply(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "12345678")

    with pytest.raises(CommandError, match="password"):
        call_command("createsuperuser", "--noinput", "--email", "boss@example.com")

    assert not User.objects.exists()


@pytest.mark.django_db
def test_a_taken_email_is_refused(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-and-unusual-passphrase-42")
    call_command("createsuperuser", "--noinput", "--email", "boss@example.com")

    with pytest.raises(CommandError, match="already exists"):
        call_command("createsuperuser", "--noinput", "--email", "BOSS@example.com")


@pytest.mark.django_db
def test_interactive_asks_for_the_email_and_the_password_twice(monkeypatch):
    answers = iter(["a-long-and-unusual-passphrase-42", "a-long-and-unusual-passphrase-42"])
    monkeypatch.setattr("builtins.input", lambda prompt: "boss@example.com")
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))

    call_command("createsuperuser")

    assert User.objects.get(email="boss@example.com").is_superuser
