"""Every page, API and websocket requires login, except the login page, /health and the icon."""

from __future__ import annotations

import re

import pytest
from channels.testing import WebsocketCommunicator
from django.urls import URLPattern, URLResolver, get_resolver

from dashboard.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

PUBLIC = {"/login/", "/health", "/favicon.ico"}  # the icon is a redirect to a static file
SAMPLE_ARGS = {"int": "1", "str": "sample", "slug": "sample", "path": "sample", "uuid": "0" * 32}


def _sample_paths(patterns, prefix: str = "") -> list[str]:
    """Every URL of the project with sample arguments, so new pages are covered automatically."""
    paths: list[str] = []
    for pattern in patterns:
        route = str(pattern.pattern)
        route = re.sub(
            r"<(?:(\w+):)?\w+>", lambda m: SAMPLE_ARGS.get(m.group(1) or "str", "1"), route
        )
        route = route.lstrip("^").rstrip("$").replace("\\Z", "")
        if isinstance(pattern, URLResolver):
            if prefix + route == "admin/":
                continue  # the admin guards itself with its own login (tested below)
            paths.extend(_sample_paths(pattern.url_patterns, prefix + route))
        elif isinstance(pattern, URLPattern):
            paths.append("/" + prefix + route)
    return paths


def _is_api(path: str) -> bool:
    return path.startswith("/api/") or path == "/metrics"


def test_every_page_except_login_and_health_redirects_anonymous_users_to_login(client):
    paths = [p for p in _sample_paths(get_resolver().url_patterns) if p not in PUBLIC]
    assert "/" in paths
    for path in paths:
        if _is_api(path):
            continue
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/login/"), path


def test_every_api_endpoint_answers_anonymous_users_401_json_not_a_redirect(client):
    paths = [p for p in _sample_paths(get_resolver().url_patterns) if _is_api(p)]
    assert "/api/queues/" in paths and "/metrics" in paths
    for path in paths:
        for method in (client.get, client.post):
            response = method(path)
            assert response.status_code == 401, (method.__name__, path)
            assert "error" in response.json(), path


def test_admin_requires_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_login_page_and_health_are_public(client):
    assert client.get("/login/").status_code == 200
    assert client.get("/health").status_code == 200
    icon = client.get("/favicon.ico")
    assert icon.status_code == 301 and icon["Location"].startswith("/static/"), icon


def test_logged_in_user_sees_home(client, django_user_model):
    user = django_user_model.objects.create_user("ops", password="pw-for-tests-1")
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    assert b"ops" in response.content


async def test_anonymous_websocket_is_refused():
    communicator = WebsocketCommunicator(
        application,
        "/ws/live/",
        headers=[(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")],
    )
    connected, _ = await communicator.connect()
    assert connected is False
    await communicator.disconnect()


async def test_logged_in_websocket_is_accepted(client, django_user_model):
    from channels.db import database_sync_to_async

    user = await database_sync_to_async(django_user_model.objects.create_user)(
        "ops", password="pw-1"
    )
    await database_sync_to_async(client.force_login)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    communicator = WebsocketCommunicator(
        application,
        "/ws/live/",
        headers=[(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), (b"cookie", cookie)],
    )
    connected, _ = await communicator.connect()
    assert connected is True
    await communicator.disconnect()
