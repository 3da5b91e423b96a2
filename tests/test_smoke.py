import pytest

from gamification.models import ActivityType, Badge, Language


@pytest.mark.django_db
def test_reference_data_is_seeded():
    assert Language.objects.filter(code="de").exists()
    assert ActivityType.objects.count() == 9
    assert Badge.objects.count() == 37
