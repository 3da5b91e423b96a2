import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_openapi_schema_is_public_and_documents_the_api(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    for path in ["/api/auth/register/", "/api/auth/login/", "/api/auth/logout/", "/api/me/", "/api/avatar-options/"]:
        assert path in schema["paths"], path


@pytest.mark.django_db
def test_docs_page_loads_its_assets_from_this_site_not_a_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html
    asset = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200


def _settings_probe(env: dict) -> subprocess.CompletedProcess:
    code = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='zeeguu_site.settings'; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}}
    return subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_debug_is_off_unless_the_environment_turns_it_on():
    assert _settings_probe({"SECRET_KEY": "x" * 50}).stdout.strip() == "False"
    assert _settings_probe({"SECRET_KEY": "x" * 50, "DEBUG": "1"}).stdout.strip() == "True"


def test_a_secret_key_is_required_when_debug_is_off():
    result = _settings_probe({})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_redis_url_switches_the_cache_to_redis():
    code = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='zeeguu_site.settings'; django.setup(); from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env = {**clean, "SECRET_KEY": "x" * 50}
    with_redis = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "REDIS_URL": "redis://127.0.0.1:6379/0"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    without = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert with_redis.stdout.strip() == "gamification.cache.FailOpenRedisCache"
    assert without.stdout.strip() == "django.core.cache.backends.locmem.LocMemCache"


@pytest.mark.django_db
def test_session_authenticated_writes_need_the_csrf_token():
    from rest_framework.test import APIClient

    from tests.factories import UserFactory

    user = UserFactory()
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.patch("/api/me/", {"name": "Changed"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    user.refresh_from_db()
    assert user.name == ""
