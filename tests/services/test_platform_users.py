"""Users the platform provisions by external id (SPEC §11.1): gamification.services.platform."""

import pytest
from django.core.exceptions import ValidationError

from gamification.constants import ANIMALS
from gamification.models import User
from gamification.services.platform import platform_user_get, platform_user_put
from tests.conftest import is_mariadb
from tests.factories import UserFactory
from tests.threads import run_in_threads


@pytest.mark.django_db
class TestPut:
    def test_a_new_external_id_creates_a_user_without_email_or_usable_password(self):
        user, created = platform_user_put(external_id="zeeguu-4242", name="Ana")

        assert created
        assert (user.external_id, user.name, user.email, user.timezone) == ("zeeguu-4242", "Ana", None, "UTC")
        assert not user.has_usable_password()
        assert user.username.split("_")[1].rstrip("0123456789") in ANIMALS

    def test_the_same_call_twice_changes_nothing(self):
        first, _ = platform_user_put(external_id="7", name="Ana", email="ana@example.com", timezone="Europe/Rome")
        updated_at = first.updated_at

        again, created = platform_user_put(external_id="7", name="Ana", email="ANA@example.com", timezone="Europe/Rome")

        assert not created
        assert again.pk == first.pk
        assert User.objects.get(pk=first.pk).updated_at == updated_at

    def test_only_the_fields_sent_change_and_updated_at_moves(self):
        user, _ = platform_user_put(external_id="7", name="Ana", timezone="Europe/Rome")
        before = user.updated_at

        updated, created = platform_user_put(external_id="7", username="Ana_Rossi")

        assert not created
        assert (updated.username, updated.name, updated.timezone) == ("Ana_Rossi", "Ana", "Europe/Rome")
        assert updated.updated_at > before

    def test_external_ids_are_compared_exactly(self):
        lower, _ = platform_user_put(external_id="abc")
        upper, created = platform_user_put(external_id="ABC")

        assert created and upper.pk != lower.pk
        assert platform_user_get(external_id="abc").pk == lower.pk
        assert platform_user_get(external_id="Abc") is None

    @pytest.mark.parametrize("external_id", ["", " 7", "7 ", "a/b", "x" * 65, "tab\there", None, 7])
    def test_malformed_external_ids_are_refused(self, external_id):
        with pytest.raises(ValidationError):
            platform_user_put(external_id=external_id)
        assert not User.objects.exists()

    def test_an_email_someone_else_has_is_refused(self):
        UserFactory(email="taken@example.com")

        with pytest.raises(ValidationError) as error:
            platform_user_put(external_id="7", email="Taken@example.com")

        assert "email" in error.value.message_dict

    def test_a_username_someone_else_has_is_refused_on_update(self):
        UserFactory(username="bold_fox")
        platform_user_put(external_id="7")

        with pytest.raises(ValidationError) as error:
            platform_user_put(external_id="7", username="BOLD_FOX")

        assert error.value.message_dict == {"username": ["This username is taken."]}

    def test_several_users_without_email_coexist(self):
        for external_id in ("1", "2", "3"):
            platform_user_put(external_id=external_id)

        assert User.objects.filter(email__isnull=True).count() == 3


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_puts_of_one_external_id_make_one_user():
    assert is_mariadb()
    results: list[tuple[int, bool]] = []

    def put(index: int) -> None:
        user, created = platform_user_put(external_id="race-1", name=f"Name {index}")
        results.append((user.pk, created))

    errors = run_in_threads(8, put)

    assert errors == []
    assert User.objects.filter(external_id="race-1").count() == 1
    assert len({pk for pk, _ in results}) == 1
    assert sum(created for _, created in results) == 1
