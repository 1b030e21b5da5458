"""The alerts page at scale (issue 17): paging, counts by severity and state, a grouped
view with counts, filtered bulk acknowledge / resolve with one audit entry, and details as
labelled fields instead of a Python repr."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from alerts.models import Alert, AlertKind, AlertState, Severity
from dashboard.models import AuditLog

pytestmark = pytest.mark.django_db

STORM = 5000


def _claims(n: int, queue: str = "orders", group: str = "billing") -> None:
    Alert.objects.bulk_create(
        [
            Alert(
                kind=AlertKind.CLAIMED,
                queue=queue,
                group=group,
                message_id=f"{i}-0",
                event_id=f"{queue}-{group}-{i}-0",
                summary=f"message {i}-0 claimed",
                details={"consumer": "ledger-1", "deliveries": 3},
            )
            for i in range(n)
        ],
        batch_size=1000,
    )


@pytest.fixture
def viewer() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_user("viewer", password="x"))
    return client


@pytest.fixture
def operator() -> Client:
    user = get_user_model().objects.create_user("operator", password="x")
    user.user_permissions.add(Permission.objects.get(codename="change_alert"))
    client = Client()
    client.force_login(user)
    return client


def _text(page: str) -> str:
    return re.sub(r"<[^>]+>", "", page)


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr id="alert-(\d+)"', page)


def test_the_list_is_paged_newest_first_with_n_of_m(viewer) -> None:
    _claims(120)
    page = viewer.get("/alerts/").content.decode()
    rows = _rows(page)
    newest = list(Alert.objects.order_by("-created_at", "-id").values_list("pk", flat=True))
    assert [int(r) for r in rows] == newest[:50]
    assert "1–50 of 120" in _text(page) and "page 1 of 3" in page
    last = viewer.get("/alerts/?page=3").content.decode()
    assert [int(r) for r in _rows(last)] == newest[100:] and "101–120 of 120" in _text(last)
    assert "101–120 of 120" in _text(viewer.get("/alerts/?page=99").content.decode())  # clamped


def test_counts_by_severity_and_state_and_the_grouped_view(viewer, operator) -> None:
    _claims(30)
    _claims(12, queue="mail", group="send")
    Alert.objects.create(kind=AlertKind.THRESHOLD, queue="orders", severity=Severity.ALERT)
    Alert.objects.filter(queue="mail").update(state=AlertState.RESOLVED)
    page = viewer.get("/alerts/").content.decode()
    assert re.search(r'data-severity="warn">42<', page)
    assert re.search(r'data-severity="alert">1<', page)
    assert re.search(r'data-state="open">31<', page) and re.search(
        r'data-state="resolved">12<', page
    )
    groups = re.findall(
        r'<tr class="alert-group">\s*<td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>\s*'
        r'<td data-field="count">(\d+)</td><td data-field="open">(\d+)</td>',
        page,
    )
    assert sorted(groups) == [
        ("mail", "claimed", "send", "12", "0"),
        ("orders", "claimed", "billing", "30", "30"),
        ("orders", "threshold", "—", "1", "1"),
    ]
    # a group's link filters the list to its rows
    only = viewer.get("/alerts/?queue=mail&kind=claimed&group=send").content.decode()
    assert len(_rows(only)) == 12 and "1–12 of 12" in _text(only)


def test_a_filtered_bulk_acknowledge_takes_every_match_with_one_audit_entry(operator) -> None:
    _claims(STORM)
    other = Alert.objects.create(kind=AlertKind.THRESHOLD, queue="orders")
    response = operator.post("/alerts/bulk/", {"kind": "claimed", "action": "acknowledge_all"})
    assert response.status_code == 302 and response["Location"] == "/alerts/?kind=claimed"
    assert Alert.objects.filter(kind="claimed", state=AlertState.ACKNOWLEDGED).count() == STORM
    assert Alert.objects.get(pk=other.pk).state == AlertState.OPEN
    (entry,) = AuditLog.objects.filter(action__startswith="alert.")
    assert entry.action == "alert.bulk_acknowledge" and entry.details["count"] == STORM
    assert entry.details["filters"] == {"kind": "claimed"} and entry.username == "operator"
    page = operator.get(response["Location"]).content.decode()
    assert f"Acknowledged {STORM} alerts." in page


def test_a_bulk_resolve_of_selected_rows_changes_only_those(operator) -> None:
    _claims(10)
    picked = list(Alert.objects.values_list("pk", flat=True)[:3])
    response = operator.post("/alerts/bulk/", {"action": "resolve", "ids": picked})
    assert response.status_code == 302
    assert set(Alert.objects.filter(state="resolved").values_list("pk", flat=True)) == set(picked)
    assert AuditLog.objects.get(action="alert.bulk_resolve").details["count"] == 3
    # nothing selected: nothing changes, the page says why
    nothing = operator.post("/alerts/bulk/", {"action": "resolve"}, follow=True).content.decode()
    assert "Select at least one alert" in nothing
    assert Alert.objects.filter(state="resolved").count() == 3


def test_bulk_actions_need_the_permission(viewer) -> None:
    _claims(3)
    assert viewer.post("/alerts/bulk/", {"action": "acknowledge_all"}).status_code == 403
    api = viewer.post(
        "/api/alerts/bulk/", json.dumps({"action": "resolve", "ids": "all"}), "application/json"
    )
    assert api.status_code == 403
    assert not Alert.objects.exclude(state="open").exists()


def test_the_bulk_api_answers_the_count_and_refuses_bad_input(operator) -> None:
    _claims(5)
    _claims(2, queue="mail")

    def post(body: object):
        return operator.post("/api/alerts/bulk/", json.dumps(body), "application/json")

    for bad in (
        {"action": "delete", "ids": "all"},
        {"action": "resolve"},
        {"action": "resolve", "ids": []},
        {"action": "resolve", "ids": ["1"]},
        {"action": "resolve", "ids": "all", "kind": "nope"},
    ):
        response = post(bad)
        assert response.status_code == 400 and response.json()["fields"], bad
    assert not Alert.objects.exclude(state="open").exists()
    ok = post({"action": "resolve", "ids": "all", "queue": "mail"})
    assert ok.json() == {"ok": True, "action": "resolve", "count": 2}
    assert Alert.objects.filter(state="resolved").count() == 2


def test_details_are_labelled_fields_not_a_python_repr(viewer) -> None:
    alert = Alert.objects.create(
        kind=AlertKind.CLAIMED,
        queue="orders",
        details={"consumer": "ledger-1", "note": "<b>x</b>", "owners": ["a", "b"]},
    )
    page = viewer.get(f"/alerts/{alert.pk}/").content.decode()
    assert "{'consumer'" not in page and "{&#x27;consumer" not in page
    assert re.search(r"<dt>consumer</dt><dd>ledger-1</dd>", page)
    assert "<dd>&lt;b&gt;x&lt;/b&gt;</dd>" in page
    assert '<pre class="payload">[\n  &quot;a&quot;,\n  &quot;b&quot;\n]</pre>' in page


def test_a_single_action_says_what_it_did_or_why_not_in_the_page(operator) -> None:
    alert = Alert.objects.create(kind=AlertKind.CLAIMED, queue="orders")
    page = operator.post(f"/alerts/{alert.pk}/resolve/", follow=True).content.decode()
    assert f"Alert {alert.pk} resolved." in page
    again = operator.post(f"/alerts/{alert.pk}/acknowledge/", follow=True)
    assert again.status_code == 200
    assert "only open alerts can be acked" in again.content.decode()


def test_the_summary_api_gives_counts_groups_and_total_for_the_filters(viewer) -> None:
    _claims(4)
    _claims(2, queue="mail", group="send")
    data = viewer.get("/api/alerts/summary/", {"queue": "mail"}).json()
    assert data["total"] == 2 and data["counts"]["state"] == {"open": 2}
    assert [(g["queue"], g["kind"], g["group"], g["count"]) for g in data["groups"]] == [
        ("mail", "claimed", "send", 2)
    ]
    assert viewer.get("/api/alerts/summary/", {"kind": "nope"}).status_code == 400
