"""Regressions found by fuzzing the API from its OpenAPI schema (bench/fuzz_api.py, schemathesis).

Bad input is a 400 in DRF's shapes, never a 500 or an HTML page, and the schema documents every
status and body the API really sends.
"""

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from gamification.models import ClassroomRole, User
from tests.conftest import client_for
from tests.factories import ClassroomFactory, MembershipFactory

OPERATION_METHODS = {"get", "post", "put", "patch", "delete"}
PUBLIC_OPERATIONS = {
    ("post", "/api/auth/register/"),
    ("post", "/api/auth/login/"),
    ("get", "/api/avatar-options/"),
}
ERROR_REF = "#/components/schemas/Error"


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in OPERATION_METHODS:
                yield method, path, operation


def json_schema(response: dict) -> dict | None:
    return response.get("content", {}).get("application/json", {}).get("schema")


# --- Inputs --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_patch_me_with_a_nul_character_in_the_name_is_400_and_nothing_is_written(user, auth_client):
    before = User.objects.values().get(pk=user.pk)

    response = auth_client.patch("/api/me/", {"name": "Ada\x00Lovelace"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"name": ["Null characters are not allowed."]}
    assert User.objects.values().get(pk=user.pk) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method, path",
    [
        ("delete", "/api/friend-requests/null,null/"),
        ("post", "/api/friend-requests/-1/accept/"),
        ("patch", "/api/classrooms/null/"),
        ("get", "/api/leaderboards/classrooms/-5/?metric=reading_time"),
        ("get", "/api/users/a/b/"),
    ],
)
def test_urls_the_path_converters_refuse_are_json_404_in_debug_mode_too(user, settings, method, path):
    settings.DEBUG = True

    response = getattr(client_for(user), method)(path, {}, format="json")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_a_post_to_an_unknown_api_url_is_a_404_not_a_csrf_failure(user, settings):
    settings.DEBUG = True
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post("/api/friend-requests/x/accept/", {}, format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path, parameter",
    [
        ("/api/friend-requests/?direction=", "direction"),
        ("/api/leaderboards/friends/?metric=reading_time&period=", "period"),
        ("/api/leaderboards/friends/?metric=reading_time&limit=", "limit"),
        ("/api/leaderboards/friends/?metric=reading_time&offset=", "offset"),
        ("/api/users/?search=", "search"),
    ],
)
def test_a_blank_optional_query_parameter_means_the_default_and_the_schema_allows_it(user, schema, path, parameter):
    operation = schema["paths"][path.split("?")[0]]["get"]
    (documented,) = [p for p in operation["parameters"] if p["name"] == parameter]
    assert documented["allowEmptyValue"] is True

    response = client_for(user).get(path)

    assert response.status_code == 200


@pytest.mark.django_db
def test_a_blank_required_query_parameter_is_400_and_not_documented_as_allowed(user, schema):
    operation = schema["paths"]["/api/leaderboards/friends/"]["get"]
    (metric,) = [p for p in operation["parameters"] if p["name"] == "metric"]
    assert "allowEmptyValue" not in metric

    response = client_for(user).get("/api/leaderboards/friends/?metric=")

    assert response.status_code == 400
    assert "metric" in response.json()


# --- Schema --------------------------------------------------------------------------------------


def test_every_operation_that_needs_a_login_documents_401_with_a_detail_body(schema):
    for method, path, operation in operations(schema):
        if (method, path) in PUBLIC_OPERATIONS:
            assert "401" not in operation["responses"], (method, path)
            continue
        assert "401" in operation["responses"], (method, path)
        assert json_schema(operation["responses"]["401"]) == {"$ref": ERROR_REF}, (method, path)


def test_every_documented_error_has_a_json_body(schema):
    for method, path, operation in operations(schema):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert json_schema(response) is not None, (method, path, status)


def test_error_component_is_drfs_detail_shape(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["properties"] == {"detail": {"type": "string"}}
    assert error["required"] == ["detail"]


@pytest.mark.parametrize(
    "method, path",
    [("post", "/api/auth/register/"), ("post", "/api/auth/login/"), ("patch", "/api/me/")],
)
def test_account_operations_document_their_400(schema, method, path):
    response = schema["paths"][path][method]["responses"]["400"]
    assert json_schema(response)["type"] == "object"


def test_operations_reading_a_json_body_document_415_and_the_others_do_not(schema):
    for method, path, operation in operations(schema):
        assert ("415" in operation["responses"]) == ("requestBody" in operation), (method, path)


def test_429_is_documented_exactly_where_a_throttle_applies(schema):
    throttled = {(method, path) for method, path, operation in operations(schema) if "429" in operation["responses"]}
    assert throttled == {
        ("post", "/api/auth/register/"),
        ("post", "/api/auth/login/"),
        ("post", "/api/events/"),
        ("post", "/api/friend-requests/"),
        ("get", "/api/users/"),
    }
    assert json_schema(schema["paths"]["/api/events/"]["post"]["responses"]["429"]) == {
        "$ref": "#/components/schemas/ThrottledError"
    }


def test_request_strings_refuse_nul_characters_in_the_schema_as_drf_does(schema):
    register = schema["components"]["schemas"]["RegisterInputRequest"]["properties"]
    assert register["email"]["pattern"] == "^[^\\u0000]+$"
    # A blank name is allowed: exactly one of the alternatives matches "".
    assert register["name"]["oneOf"][0]["pattern"] == "^[^\\u0000]+$"
    assert register["name"]["oneOf"][1] == {"type": "string", "maxLength": 0}
    assert "pattern" not in schema["components"]["schemas"]["Me"]["properties"]["name"]


@pytest.mark.django_db
def test_patch_classroom_documents_leaderboard_enabled_as_required_as_the_view_validates_it(schema):
    body = schema["paths"]["/api/classrooms/{classroom_id}/"]["patch"]["requestBody"]
    assert body["required"] is True
    assert json_schema(body)["required"] == ["leaderboard_enabled"]

    classroom = ClassroomFactory()
    teacher = MembershipFactory(classroom=classroom, role=ClassroomRole.TEACHER).user
    response = client_for(teacher).patch(f"/api/classrooms/{classroom.pk}/", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {"leaderboard_enabled": ["This field is required."]}
