"""Dead letters can be investigated (issue 17): paged newest first with the total, each
with its original id, failure time, consumer, error and traceback, and found by the
original id an alert names."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from dashboard.catalog.models import QueueDefinition
from dashboard.monitor.library import reset_managers

pytestmark = pytest.mark.django_db

LETTERS = 500


@pytest.fixture(autouse=True)
def _fresh_managers():
    reset_managers()
    yield
    reset_managers()


def fill_dead_letters(redis_client, queue: str, n: int = LETTERS) -> list[str]:
    """``n`` dead letters the way the library records them; original ids 1000-<i>."""
    pipe = redis_client.pipeline(transaction=False)
    for i in range(n):
        pipe.xadd(
            f"sw:{{{queue}}}:dead",
            {
                "payload": f'{{"n": {i}}}',
                "ctype": "json",
                "headers": "{}",
                "reason": "max_deliveries",
                "error": f"ValueError: bad {i}",
                "traceback": f'Traceback (most recent call last):\n  File "<x>", line {i}\n<b>',
                "deliveries": "5",
                "original_id": f"1000-{i}",
                "group": "billing",
                "consumer": f"worker-{i % 3}",
                "failed_at": str(1_700_000_000_000 + i),
            },
        )
    return [i.decode() for i in pipe.execute()]


@pytest.fixture
def viewer(django_user_model) -> Client:
    user = django_user_model.objects.create_user("viewer", password="pw-for-tests-1")
    user.user_permissions.add(Permission.objects.get(codename="view_payloads"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def dead(redis_client, queue_name) -> list[str]:
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    return fill_dead_letters(redis_client, queue_name)


URL = "/api/queues/orders/dead-letters/"


def test_pages_run_newest_first_with_the_total_down_to_the_oldest(viewer, dead) -> None:
    first = viewer.get(URL).json()
    assert first["total"] == LETTERS and first["newer"] is False
    assert [d["id"] for d in first["dead_letters"]] == dead[::-1][:50]
    seen, page = [], first
    while True:
        seen += [d["id"] for d in page["dead_letters"]]
        if page["older"] is None:
            break
        page = viewer.get(URL, {"before": page["older"]}).json()
        assert page["newer"] is True
    assert seen == dead[::-1]


def test_a_row_holds_the_failure_as_redis_stores_it(viewer, dead) -> None:
    (row,) = viewer.get(URL, {"count": 1}).json()["dead_letters"]
    i = LETTERS - 1
    assert row["id"] == dead[-1] and row["original_id"] == f"1000-{i}"
    assert row["consumer"] == f"worker-{i % 3}" and row["group"] == "billing"
    assert row["failed_at_ms"] == 1_700_000_000_000 + i
    assert row["error"] == f"ValueError: bad {i}" and row["traceback"].endswith("<b>")
    assert row["payload"] == f'{{"n": {i}}}'


def test_an_alert_s_original_id_finds_its_page(viewer, dead) -> None:
    page = viewer.get(URL, {"original": "1000-7"}).json()
    assert page["found"] is True and page["dead_letters"][0]["original_id"] == "1000-7"
    assert page["newer"] is True and page["total"] == LETTERS
    missing = viewer.get(URL, {"original": "999-1"}).json()
    assert missing["found"] is False and len(missing["dead_letters"]) == 50


@pytest.mark.parametrize(
    "query", [{"before": "x"}, {"at": "1-0; DROP"}, {"count": "0"}, {"count": "a"}]
)
def test_bad_cursors_are_refused(viewer, dead, query) -> None:
    response = viewer.get(URL, query)
    assert response.status_code == 400 and response.json()["fields"]
