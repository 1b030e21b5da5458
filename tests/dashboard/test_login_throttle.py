"""Password guessing is throttled (issue 15, item 14): after too many failed logins for one
username, or from one address, within the window, further logins are refused — even with the
right password — until the lockout passes. The dashboard login and the admin login alike."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.support.redis_process import wait_for

pytestmark = pytest.mark.django_db

PASSWORD = "right-password-1"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.STREAMWARDEN_LOGIN_FAILURES_PER_USER = 3
    settings.STREAMWARDEN_LOGIN_FAILURES_PER_ADDRESS = 5
    settings.STREAMWARDEN_LOGIN_WINDOW = 900
    settings.STREAMWARDEN_LOGIN_LOCKOUT = 900


@pytest.fixture
def ops(django_user_model):
    return django_user_model.objects.create_superuser("ops", password=PASSWORD)


def _login(username: str, password: str, address: str = "10.0.0.1", path: str = "/login/"):
    client = Client(REMOTE_ADDR=address)
    response = client.post(path, {"username": username, "password": password})
    return client, response


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_guessing_a_users_password_locks_that_user(ops):
    for n in range(3):
        client, _ = _login("ops", f"guess-{n}", address=f"10.0.0.{n + 1}")
        assert not _logged_in(client)
    client, page = _login("ops", PASSWORD, address="10.0.0.99")  # right password, new address
    assert not _logged_in(client)
    assert "Too many failed logins" in page.content.decode()


def test_guessing_from_one_address_locks_that_address(django_user_model, ops):
    django_user_model.objects.create_user("alice", password=PASSWORD)
    for n in range(5):  # a password spray: few attempts per user, many from one address
        _login(f"user-{n}", "guess")
    client, page = _login("alice", PASSWORD)
    assert not _logged_in(client)
    assert "Too many failed logins" in page.content.decode()
    other, _ = _login("alice", PASSWORD, address="10.0.0.2")
    assert _logged_in(other)


def test_the_admin_login_is_throttled_too(ops):
    for n in range(3):
        _login("ops", f"guess-{n}", path="/admin/login/")
    client, _ = _login("ops", PASSWORD, path="/admin/login/")
    assert not _logged_in(client)
    client, _ = _login("ops", PASSWORD)
    assert not _logged_in(client)


def test_a_success_clears_the_users_count(ops):
    for _ in range(2):
        _login("ops", "guess")
    assert _logged_in(_login("ops", PASSWORD)[0])
    for _ in range(2):
        _login("ops", "guess")
    assert _logged_in(_login("ops", PASSWORD)[0])


def test_the_lock_ends_after_the_lockout(ops, settings):
    settings.STREAMWARDEN_LOGIN_LOCKOUT = 1
    for n in range(3):
        _login("ops", f"guess-{n}")
    assert not _logged_in(_login("ops", PASSWORD)[0])
    wait_for(lambda: _logged_in(_login("ops", PASSWORD)[0]), timeout=5, message="lock ended")
