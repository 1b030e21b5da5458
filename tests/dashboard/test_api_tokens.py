"""API tokens cannot lift a user's rights (issue 15, item 1): they are issued to the requesting
user (only a superuser picks another), never move to another user, may expire or be read-only,
and stop working when the owner's password changes or the owner is deactivated."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from dashboard.catalog.models import QueueDefinition
from dashboard.models import ApiToken
from dashboard.monitor.library import reset_managers
from tests.support.queue_data import publish

pytestmark = pytest.mark.django_db

ADD = "/admin/dashboard/apitoken/add/"


@pytest.fixture(autouse=True)
def _fresh_managers():
    reset_managers()
    yield
    reset_managers()


@pytest.fixture
def queue(redis_url, queue_name):
    publish(redis_url, queue_name, [{"n": 1}])
    return QueueDefinition.objects.create(name="orders", queue=queue_name)


def _staff(django_user_model, name: str, *perms: str):
    user = django_user_model.objects.create_user(name, password="pw-for-tests-1", is_staff=True)
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


TOKEN_PERMS = ("add_apitoken", "change_apitoken", "view_apitoken", "delete_apitoken")


def _as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _auth(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def test_staff_cannot_issue_a_token_for_a_superuser(django_user_model, queue):
    root = django_user_model.objects.create_superuser("root", password="pw-for-tests-1")
    mallory = _staff(django_user_model, "mallory", *TOKEN_PERMS)
    response = _as(mallory).post(
        ADD, {"user": root.pk, "name": "escalate", "_save": "Save"}, follow=True
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(name="escalate")
    assert token.user == mallory  # issued to the requester, whatever the form said
    page = response.content.decode()
    key = page.split("Token key (shown once): ", 1)[1].split("<", 1)[0].strip()
    purge = Client().post("/api/queues/orders/purge/", **_auth(key))
    assert purge.status_code == 403  # mallory's rights, not root's


def test_a_superuser_may_issue_a_token_for_another_user(django_user_model):
    root = django_user_model.objects.create_superuser("root", password="pw-for-tests-1")
    robot = django_user_model.objects.create_user("robot", password="pw-for-tests-1")
    response = _as(root).post(ADD, {"user": robot.pk, "name": "ci", "_save": "Save"})
    assert response.status_code == 302
    assert ApiToken.objects.get(name="ci").user == robot


def test_a_token_never_moves_to_another_user(django_user_model):
    root = django_user_model.objects.create_superuser("root", password="pw-for-tests-1")
    mallory = _staff(django_user_model, "mallory", *TOKEN_PERMS)
    token, _ = ApiToken.issue(user=mallory, name="mine")
    change = f"/admin/dashboard/apitoken/{token.pk}/change/"
    for actor in (mallory, root):
        response = _as(actor).post(change, {"user": root.pk, "name": "mine", "_save": "Save"})
        assert response.status_code == 302
        token.refresh_from_db()
        assert token.user == mallory


def test_staff_see_and_edit_only_their_own_tokens(django_user_model):
    root = django_user_model.objects.create_superuser("root", password="pw-for-tests-1")
    mallory = _staff(django_user_model, "mallory", *TOKEN_PERMS)
    theirs, _ = ApiToken.issue(user=root, name="root-ci")
    client = _as(mallory)
    assert "root-ci" not in client.get("/admin/dashboard/apitoken/").content.decode()
    response = client.post(f"/admin/dashboard/apitoken/{theirs.pk}/delete/", {"post": "yes"})
    assert response.status_code in (302, 404)
    assert ApiToken.objects.filter(pk=theirs.pk).exists()


def test_an_expired_token_is_refused(django_user_model):
    user = django_user_model.objects.create_user("robot", password="pw-for-tests-1")
    _, live = ApiToken.issue(user=user, name="live", expires_at=timezone.now() + timedelta(days=1))
    _, dead = ApiToken.issue(
        user=user, name="dead", expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert Client().get("/api/queues/", **_auth(live)).status_code == 200
    assert Client().get("/api/queues/", **_auth(dead)).status_code == 401


def test_a_read_only_token_reads_but_never_writes(django_user_model, queue):
    user = _staff(django_user_model, "ops")
    for codename in ("operate_queue", "destroy_queue"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    _, key = ApiToken.issue(user=user, name="grafana", read_only=True)
    assert Client().get("/api/queues/orders/", **_auth(key)).status_code == 200
    response = Client().post("/api/queues/orders/purge/", **_auth(key))
    assert response.status_code == 403 and "read-only" in response.json()["error"]
    assert Client().get("/api/queues/orders/", **_auth(key)).json()["snapshot"]["length"] == 1


def test_a_token_stops_working_when_its_owners_password_changes(django_user_model):
    user = django_user_model.objects.create_user("robot", password="pw-for-tests-1")
    _, key = ApiToken.issue(user=user, name="ci")
    assert Client().get("/api/queues/", **_auth(key)).status_code == 200
    user.set_password("a-new-password-2")
    user.save()
    assert Client().get("/api/queues/", **_auth(key)).status_code == 401


def test_a_token_stops_working_when_its_owner_is_deactivated(django_user_model):
    user = django_user_model.objects.create_user("robot", password="pw-for-tests-1")
    _, key = ApiToken.issue(user=user, name="ci")
    user.is_active = False
    user.save()
    assert Client().get("/api/queues/", **_auth(key)).status_code == 401


def test_issuing_and_revoking_a_token_is_in_the_audit_log(django_user_model):
    from dashboard.models import AuditLog

    root = django_user_model.objects.create_superuser("root", password="pw-for-tests-1")
    robot = django_user_model.objects.create_user("robot", password="pw-for-tests-1")
    admin = _as(root)
    admin.post(ADD, {"user": robot.pk, "name": "ci", "read_only": "on", "_save": "Save"})
    token = ApiToken.objects.get(name="ci")
    admin.post(f"/admin/dashboard/apitoken/{token.pk}/delete/", {"post": "yes"})
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    rows = list(AuditLog.objects.order_by("at", "pk").values_list("username", "action", "target"))
    assert rows == [("root", "token.issue", "robot"), ("root", "token.revoke", "robot")]
    issued = AuditLog.objects.get(action="token.issue").details
    assert issued["name"] == "ci" and issued["read_only"] is True
