import random
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from gamification.constants import ADJECTIVES, ANIMALS
from gamification.models import User
from gamification.services import usernames
from gamification.services.usernames import animal_of, username_generate, usernames_generate
from gamification.services.users import user_create, user_update
from gamification.validators import username_normalize
from tests.factories import UserFactory


class TestUsernameRules:
    def test_fifty_characters_are_accepted(self):
        assert username_normalize("a" * 50) == "a" * 50

    def test_fifty_one_characters_are_refused(self):
        with pytest.raises(ValidationError, match="at most 50"):
            username_normalize("a" * 51)

    @pytest.mark.parametrize("name", ["under_score", "dot.ted", "dash-ed", "Mixed.Case_9-x", "a", "007"])
    def test_ascii_letters_digits_and_three_marks_are_allowed(self, name):
        assert username_normalize(name) == name

    @pytest.mark.parametrize(
        "name",
        ["café", "naïve", "smile😀", "汉字", "two words", "at@sign", "bang!", "tab\there", "a/b", "Ω", "x\u200by"],
    )
    def test_other_characters_are_refused(self, name):
        with pytest.raises(ValidationError, match="only ASCII letters"):
            username_normalize(name)

    @pytest.mark.parametrize("name", ["", "   ", "\t\n"])
    def test_blank_is_refused(self, name):
        with pytest.raises(ValidationError, match="blank"):
            username_normalize(name)

    def test_surrounding_whitespace_is_stripped(self):
        assert username_normalize("  brave_otter  ") == "brave_otter"

    @pytest.mark.parametrize("value", [None, 42, ["a"], {"a": 1}])
    def test_non_strings_are_refused(self, value):
        with pytest.raises(ValidationError):
            username_normalize(value)


@pytest.mark.django_db
class TestUsernameChanges:
    def test_a_name_taken_ignoring_case_is_refused(self):
        UserFactory(username="Alice")
        bob = UserFactory()
        with pytest.raises(ValidationError) as error:
            user_update(user=bob, username="aLiCe")
        assert error.value.message_dict == {"username": ["This username is taken."]}
        bob.refresh_from_db()
        assert bob.username != "aLiCe"

    def test_changing_only_the_casing_of_ones_own_name_is_allowed(self):
        alice = UserFactory(username="alice")
        user_update(user=alice, username="ALICE")
        alice.refresh_from_db()
        assert alice.username == "ALICE"
        assert alice.username_key == "alice"

    def test_the_database_refuses_two_names_equal_ignoring_case(self):
        UserFactory(username="Alice")
        other = UserFactory()
        other.username = "alice"
        with pytest.raises(IntegrityError), transaction.atomic():
            other.save(update_fields=["username"])


@pytest.mark.django_db
class TestUsernameGeneration:
    def test_generated_names_are_adjective_underscore_animal(self):
        name = username_generate()
        adjective, rest = name.split("_", 1)
        assert adjective in ADJECTIVES
        assert animal_of(name) in ANIMALS
        assert rest.rstrip("0123456789") in ANIMALS

    def test_the_bare_pair_is_tried_first(self):
        name = username_generate(pick=lambda options: options[0])
        assert name == f"{ADJECTIVES[0]}_{ANIMALS[0]}"

    def test_a_taken_pair_gets_a_one_digit_suffix_first(self):
        UserFactory(username=f"{ADJECTIVES[0]}_{ANIMALS[0]}")
        name = username_generate(pick=lambda options: options[0], rng=random.Random(1))
        suffix = name.removeprefix(f"{ADJECTIVES[0]}_{ANIMALS[0]}")
        assert suffix.isdigit() and 1 <= int(suffix) <= 9

    def test_suffix_ranges_grow_when_small_ones_are_full(self):
        base = f"{ADJECTIVES[0]}_{ANIMALS[0]}"
        for n in ["", *range(1, 10)]:
            UserFactory(username=f"{base}{n}")
        name = username_generate(pick=lambda options: options[0])
        assert 10 <= int(name.removeprefix(base)) <= 99

    def test_many_names_at_once_are_distinct_free_and_avoid_the_reserved_ones(self, django_assert_max_num_queries):
        base = f"{ADJECTIVES[0]}_{ANIMALS[0]}"
        UserFactory(username=base)
        with django_assert_max_num_queries(6):  # one per round, not one per name
            names = usernames_generate(40, pick=lambda options: options[0], reserved=[f"{base.upper()}5"])
        assert len(names) == 40 == len({name.lower() for name in names})
        assert base not in names and f"{base}5" not in names
        assert all(name.startswith(base) for name in names)
        assert not User.objects.filter(username_key__in=[name.lower() for name in names]).exists()

    def test_generation_is_bounded_when_every_candidate_is_taken(self, monkeypatch):
        monkeypatch.setattr(usernames, "_taken_keys", lambda candidates: {c.lower() for c in candidates})
        with pytest.raises(RuntimeError, match="exhausted"):
            username_generate()

    def test_a_clash_at_insert_is_retried_with_a_fresh_name(self, monkeypatch):
        taken = UserFactory().username
        names = iter([taken, "fresh_otter7"])
        monkeypatch.setattr("gamification.services.users.username_generate", lambda: next(names))
        user = user_create(email="new@example.com", password="x-Secret-1234")
        assert user.username == "fresh_otter7"
        assert User.objects.filter(username_key=taken).count() == 1

    def test_new_users_get_the_animal_of_their_name_and_a_palette_pair(self):
        user = UserFactory()
        assert user.avatar_image == animal_of(user.username)


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_two_threads_taking_alice_and_ALICE_at_once_one_wins_the_other_gets_400():
    first, second = UserFactory(), UserFactory()
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def rename(user, name):
        from tests.conftest import client_for

        client = client_for(user)
        barrier.wait()
        try:
            outcomes[name] = client.patch("/api/me/", {"username": name}, format="json").status_code
        finally:
            connection.close()

    threads = [
        threading.Thread(target=rename, args=(first, "Alice")),
        threading.Thread(target=rename, args=(second, "alice")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes.values()) == [200, 400]
    assert User.objects.filter(username_key="alice").count() == 1
