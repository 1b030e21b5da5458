"""Find a message (issue 17): given an entry id, the page says where it is in each queue
(stream, the group's pending list and owner, dead letters) and lists the alerts naming it;
foreign names are escaped; with many queues it asks which one."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts.models import Alert
from dashboard.catalog.models import QueueDefinition
from dashboard.monitor.library import reset_managers
from dashboard.selectors import find
from tests.dashboard.test_dead_letter_paging import fill_dead_letters
from tests.support.queue_data import create_group, publish, read

pytestmark = pytest.mark.django_db

OWNER = "<b>worker-1</b>"


@pytest.fixture(autouse=True)
def _fresh_managers():
    reset_managers()
    yield
    reset_managers()


@pytest.fixture
def viewer(client, django_user_model) -> Client:
    client.force_login(django_user_model.objects.create_user("viewer", password="pw-x-1234567"))
    return client


def test_a_pending_entry_its_owner_and_the_alerts_naming_it(
    viewer, redis_url, redis_client, queue_name
) -> None:
    ids = publish(redis_url, queue_name, [{"n": i} for i in range(2)])
    create_group(redis_url, queue_name, "billing")
    assert read(redis_url, queue_name, "billing", OWNER, 1) == 1
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    QueueDefinition.objects.create(name="other", queue=f"{queue_name}-other")
    alert = Alert.objects.create(kind="claimed", queue="orders", group="billing", message_id=ids[0])

    page = viewer.get("/find/", {"id": ids[0]}).content.decode()
    assert "Searched 2 queues." in page
    assert 'data-queue="orders"' in page and 'data-queue="other"' not in page
    assert 'group "billing", owner "&lt;b&gt;worker-1&lt;/b&gt;", 1 delivery' in page
    assert f'href="/queues/orders/#pending-{ids[0]}"' in page
    assert "<b>worker-1</b>" not in page  # escaped
    assert "in the stream" in page and "not among the dead letters" in page
    assert page.count(f'href="/alerts/{alert.pk}/"') == 1

    acked = viewer.get("/find/", {"id": ids[1], "queue": "orders"}).content.decode()
    assert "not pending in any group (acknowledged, or not yet delivered)" in acked
    assert "No alert names this id." in acked

    fill_dead_letters(redis_client, queue_name, 2)  # original ids 1000-0, 1000-1
    dead = viewer.get("/find/", {"id": "1000-1"}).content.decode()
    assert "dead-lettered (dead letter" in dead
    assert 'href="/queues/orders/#dead-1000-1"' in dead
    assert "not in the stream" in dead

    nowhere = viewer.get("/find/", {"id": "5-5"}).content.decode()
    assert 'id="find-nowhere"' in nowhere


def test_a_bad_id_is_refused_and_many_queues_ask_which(viewer, redis_url, monkeypatch) -> None:
    bad = viewer.get("/find/", {"id": "1-0; FLUSHALL"}).content.decode()
    assert 'id="find-error"' in bad and "An entry id looks like" in bad
    monkeypatch.setattr(find, "SEARCH_ALL_MAX", 1)
    for name in ("a", "b"):
        QueueDefinition.objects.create(name=name, queue=name)
    many = viewer.get("/find/", {"id": "1-0"}).content.decode()
    assert "2 queues are defined and no alert names this id: choose the queue" in many
    Alert.objects.create(kind="claimed", queue="b", message_id="1-0")
    named = viewer.get("/find/", {"id": "1-0"}).content.decode()
    assert "Searched 1 queue." in named and 'data-queue="b"' in named


def test_every_page_has_the_find_box(viewer) -> None:
    QueueDefinition.objects.create(name="orders", queue="orders")
    for path in ("/", "/alerts/", "/audit/", "/find/"):
        page = viewer.get(path).content.decode()
        assert 'action="/find/"' in page and 'role="search"' in page, path
