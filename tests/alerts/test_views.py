"""Alerts page, detail, actions and JSON API: login, permission and CSRF on every change."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from alerts.models import Alert
from alerts.services import record_event_alert, sync_status_alert

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_user("viewer", password="x"))
    return client


@pytest.fixture
def operator() -> Client:
    user = get_user_model().objects.create_user("operator", password="x")
    user.user_permissions.add(Permission.objects.get(codename="change_alert"))
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.fixture
def alerts() -> list[Alert]:
    claimed, _ = record_event_alert(
        kind="claimed", queue="orders", group="billing", message_id="17-0", event_id="1-0"
    )
    dead, _ = record_event_alert(
        kind="dead_lettered", queue="mail", group="send", message_id="18-0", event_id="2-0"
    )
    lag = sync_status_alert(
        kind="threshold", queue="orders", group="billing", status="alert", details={"lag": 900}
    )
    assert lag is not None
    return [claimed, dead, lag]


def csrf_token(client: Client, path: str = "/alerts/") -> str:
    client.get(path)
    return client.cookies["csrftoken"].value


def test_pages_and_api_need_login(alerts) -> None:
    anonymous = Client()
    assert anonymous.get("/alerts/").status_code == 302
    assert anonymous.get(f"/alerts/{alerts[0].pk}/").status_code == 302
    response = anonymous.get("/api/alerts/")
    assert response.status_code == 401
    assert response.json() == {"error": "authentication required"}
    assert anonymous.post(f"/api/alerts/{alerts[0].pk}/resolve/").status_code == 401


def test_api_lists_alerts_with_filters(viewer, alerts) -> None:
    body = viewer.get("/api/alerts/?kind=claimed").json()
    assert [a["message_id"] for a in body["results"]] == ["17-0"]
    assert body["results"][0]["message_link"] == "/queues/orders/#pending-17-0"
    assert {a["kind"] for a in viewer.get("/api/alerts/?queue=orders").json()["results"]} == {
        "claimed",
        "threshold",
    }
    assert [a["kind"] for a in viewer.get("/api/alerts/?severity=alert").json()["results"]] == [
        "threshold",
    ]
    # One dead letter is a warning: the global default thresholds call 1 dead letter "warn".
    assert [a["kind"] for a in viewer.get("/api/alerts/?severity=warn").json()["results"]] == [
        "dead_lettered",
        "claimed",
    ]
    assert len(viewer.get("/api/alerts/?state=open").json()["results"]) == 3
    bad = viewer.get("/api/alerts/?kind=nope")
    assert bad.status_code == 400 and "kind" in bad.json()["fields"]
    detail = viewer.get(f"/api/alerts/{alerts[1].pk}/").json()
    assert detail["message_link"] == "/queues/mail/#dead-18-0"
    # what the alert's page shows on its "Notification" line, and reads again live
    assert detail["notification_status"] == "Waiting to be sent"


def test_api_accepts_a_token_and_skips_csrf_for_it(alerts) -> None:
    from dashboard.models import ApiToken

    user = get_user_model().objects.create_user("script", password="x")
    user.user_permissions.add(Permission.objects.get(codename="change_alert"))
    _token, key = ApiToken.issue(user=user, name="pager bridge")
    client = Client(enforce_csrf_checks=True)
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
    assert (
        client.get("/api/alerts/?kind=claimed", **auth).json()["results"][0]["id"] == alerts[0].pk
    )
    response = client.post(f"/api/alerts/{alerts[0].pk}/acknowledge/", **auth)
    assert response.status_code == 200 and response.json()["acknowledged_by"] == "script"
    assert client.get("/api/alerts/999999/", **auth).status_code == 404


def test_operator_actions_are_in_the_audit_log(operator, alerts) -> None:
    from dashboard.models import AuditLog

    token = csrf_token(operator)
    operator.post(f"/api/alerts/{alerts[0].pk}/acknowledge/", HTTP_X_CSRFTOKEN=token)
    operator.post(f"/api/alerts/{alerts[0].pk}/resolve/", HTTP_X_CSRFTOKEN=token)
    rows = list(AuditLog.objects.order_by("at").values_list("username", "action", "target"))
    assert rows == [
        ("operator", "alert.acknowledge", f"orders/alert:{alerts[0].pk}"),
        ("operator", "alert.resolve", f"orders/alert:{alerts[0].pk}"),
    ]


def test_actions_need_the_permission(viewer, alerts) -> None:
    response = viewer.post(f"/api/alerts/{alerts[0].pk}/acknowledge/")
    assert response.status_code == 403
    assert "alerts.change_alert" in response.json()["error"]
    assert viewer.post(f"/alerts/{alerts[0].pk}/resolve/").status_code == 403
    assert Alert.objects.get(pk=alerts[0].pk).state == "open"


def test_operator_acknowledges_and_resolves_through_the_api_with_csrf(operator, alerts) -> None:
    url = f"/api/alerts/{alerts[2].pk}/acknowledge/"
    assert operator.post(url).status_code == 403  # no CSRF token
    token = csrf_token(operator)
    body = operator.post(url, HTTP_X_CSRFTOKEN=token).json()
    assert (body["state"], body["acknowledged_by"]) == ("acknowledged", "operator")
    body = operator.post(f"/api/alerts/{alerts[2].pk}/resolve/", HTTP_X_CSRFTOKEN=token).json()
    assert (body["state"], body["resolved_by"]) == ("resolved", "operator")
    again = operator.post(url, HTTP_X_CSRFTOKEN=token)
    assert again.status_code == 409


def test_operator_uses_the_page_forms(operator, alerts) -> None:
    token = csrf_token(operator)
    page = operator.get("/alerts/?queue=orders").content.decode()
    assert "17-0" in page and "18-0" not in page
    assert f'action="/alerts/{alerts[0].pk}/acknowledge/"' in page
    response = operator.post(
        f"/alerts/{alerts[0].pk}/acknowledge/",
        {"csrfmiddlewaretoken": token, "next": "/alerts/?queue=orders"},
    )
    assert response.status_code == 302 and response["Location"] == "/alerts/?queue=orders"
    assert Alert.objects.get(pk=alerts[0].pk).state == "acknowledged"
    response = operator.post(
        f"/alerts/{alerts[0].pk}/resolve/",
        {"csrfmiddlewaretoken": token, "next": "https://evil.example/"},
    )
    assert response["Location"] == f"/alerts/{alerts[0].pk}/"


def test_detail_links_the_message_to_its_queue_page_entry(viewer, alerts) -> None:
    page = viewer.get(f"/alerts/{alerts[0].pk}/").content.decode()
    assert 'href="/queues/orders/#pending-17-0"' in page
    page = viewer.get(f"/alerts/{alerts[1].pk}/").content.decode()
    assert 'href="/queues/mail/#dead-18-0"' in page
    assert "/acknowledge/" not in page  # no permission, no buttons


def test_payload_like_details_are_escaped(viewer) -> None:
    alert, _ = record_event_alert(
        kind="claimed",
        queue="q",
        message_id="<script>x</script>",
        event_id="9-0",
        details={"note": "<img src=x onerror=alert(1)>"},
    )
    page = viewer.get(f"/alerts/{alert.pk}/").content.decode()
    assert "<script>x</script>" not in page and "<img src=x" not in page
