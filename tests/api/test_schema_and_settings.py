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
