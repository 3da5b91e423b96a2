"""The admin site as a whole: its name, an index that puts badges first and the internal tables
apart, and the front page that "View site" lands on (SPEC §7)."""

import pytest
from django.test import Client

from tests.factories import UserFactory


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def sections(response) -> list[tuple[str, list[str]]]:
    return [(app["name"], [model["name"] for model in app["models"]]) for app in response.context["app_list"]]


def test_the_index_starts_with_badges_and_ends_with_read_only_diagnostics(staff_client):
    response = staff_client.get("/admin/")

    assert response.status_code == 200
    listed = sections(response)
    assert listed[0] == (
        "Badges",
        [
            "Badges and levels, by activity type",
            "Badges held by learners",
            "Manual awards and revocations",
            "Learners' progress (metrics)",
        ],
    )
    assert listed[1][0] == "Learners"
    assert "Users" in listed[1][1] and "Activity log" in listed[1][1]
    assert listed[-1] == ("Diagnostics (read-only)", ["First occurrences", "Practice days", "Language streaks"])
    names = [name for name, _ in listed]
    assert "Login lockouts (Axes)" in names and "Feature flags" in names
    # every registered model is listed somewhere
    assert sum(len(models) for _, models in listed) == len(response.context["available_apps"][0]["models"]) + sum(
        len(app["models"]) for app in response.context["available_apps"][1:]
    )


def test_the_diagnostics_are_read_only(staff_client):
    response = staff_client.get("/admin/")

    diagnostics = response.context["app_list"][-1]["models"]
    assert all(model["view_only"] and not model["add_url"] for model in diagnostics)


def test_the_header_names_the_product_and_view_site_lands_on_the_front_page(staff_client):
    html = staff_client.get("/admin/").content.decode()

    assert '<a href="/admin/">Zeeguu gamification</a>' in html
    assert "<title>Staff console | Zeeguu gamification admin</title>" in html
    assert '<a href="/">View site</a>' in html


def test_the_front_page_links_to_the_admin_the_api_docs_and_the_probes(db):
    response = Client().get("/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    for link in ('href="/admin/"', 'href="/api/docs/"', 'href="/healthz"', 'href="/readyz"'):
        assert link in html
    assert "<script" not in html  # nothing for the CSP to refuse


def test_other_unknown_pages_are_still_not_found(db):
    assert Client().get("/no-such-page").status_code == 404
