"""Calls as the Zeeguu web frontend makes them (docs/zeeguu.md): the session in ``?session=``
(appended with ``&`` when the path has a query already), friend actions as JSON, settings and
login as forms, ``mark_all_seen`` with no body and no Content-Type."""

import json
from urllib.parse import urlencode

import pytest
from django.test import Client

from gamification.models import User
from gamification.services.tokens import auth_token_issue

PREFIX = "/zeeguu"


class Frontend:
    def __init__(self, session: str | None = None, client: Client | None = None) -> None:
        self.session = session
        self.client = client or Client(raise_request_exception=False)

    def url(self, path: str) -> str:
        if not self.session:
            return PREFIX + path
        return f"{PREFIX}{path}{'&' if '?' in path else '?'}session={self.session}"

    def get(self, path: str, **extra):
        return self.client.get(self.url(path), **extra)

    def post_json(self, path: str, body, **extra):
        return self.client.post(self.url(path), data=json.dumps(body), content_type="application/json", **extra)

    def post_form(self, path: str, data: dict, **extra):
        return self.client.post(
            self.url(path), data=urlencode(data), content_type="application/x-www-form-urlencoded", **extra
        )

    def post_empty(self, path: str, **extra):
        # RequestFactory.generic leaves CONTENT_TYPE out when there is no body.
        return self.client.generic("POST", self.url(path), **extra)


def frontend_for(user: User) -> Frontend:
    """The frontend of ``user``, holding a session issued by this service."""
    return Frontend(auth_token_issue(user=user, client_name="zeeguu-web").token)


@pytest.fixture
def anonymous_frontend() -> Frontend:
    return Frontend()


def message_of(response, status: int) -> str:
    """The ``{"message": ...}`` body of an error answer, checking its status and shape."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"message"}, body
    assert isinstance(body["message"], str) and body["message"]
    return body["message"]
