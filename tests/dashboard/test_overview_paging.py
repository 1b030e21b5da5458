"""The overview and /api/queues/ at scale: a page at a time, filtered by name and status,
read from the monitor's stored view (tests/bench/overview.py measures 10 000 queues)."""

from __future__ import annotations

import pytest

from dashboard import selectors
from dashboard.catalog.models import QueueDefinition
from dashboard.models import QueueState
from dashboard.monitor.counting import commands_so_far
from dashboard.monitor.engine import Monitor
from dashboard.monitor.lease import Lease
from dashboard.monitor.library import reset_managers
from tests.support.queue_data import publish

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0
    reset_managers()
    yield
    reset_managers()


@pytest.fixture
def queues(redis_url, queue_name) -> list[str]:
    """25 queues q00..q24 the monitor has polled; q03 and q13 are in alert."""
    names = [f"q{i:02d}" for i in range(25)]
    for name in names:
        QueueDefinition.objects.create(name=name, queue=f"{queue_name}-{name}")
        publish(redis_url, f"{queue_name}-{name}", [{"n": 1}])
    Monitor(lease=Lease(ttl=5), name="solo").cycle()
    for name in ("q03", "q13"):
        state = QueueState.objects.get(queue=name)
        state.data = {**state.data, "status": "alert"}
        state.save()
    return names


@pytest.fixture
def viewer(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("viewer", password="pw-viewer-123"))
    return client


def test_a_page_of_the_stored_view_costs_no_redis_command(queues):
    before = commands_so_far()
    page = selectors.overview_page(page=3, per_page=10)
    assert commands_so_far() == before
    assert [r.name for r in page.rows] == queues[20:]
    assert (page.total, page.page, page.pages) == (25, 3, 3)
    assert {r.source for r in page.rows} == {"monitor"}
    # past the end: the last page, not an empty one
    assert selectors.overview_page(page=99, per_page=10).page == 3


def test_search_by_name_and_filter_by_status(queues):
    found = selectors.overview_page(search="Q1", per_page=100)  # case-insensitive
    assert [r.name for r in found.rows] == [f"q{i}" for i in range(10, 20)]
    alerting = selectors.overview_page(status="alert")
    assert [r.name for r in alerting.rows] == ["q03", "q13"] and alerting.total == 2
    assert [r.name for r in selectors.overview_page(search="q1", status="alert").rows] == ["q13"]
    assert selectors.overview_page(status="ok").total == 23
    with pytest.raises(ValueError):
        selectors.overview_page(status="bogus")


def test_a_queue_not_stored_yet_is_polled_live_only_on_its_page(queues, queue_name):
    QueueDefinition.objects.create(name="zz-new", queue=f"{queue_name}-new")
    before = commands_so_far()
    assert {r.source for r in selectors.overview_page(page=1, per_page=10).rows} == {"monitor"}
    assert commands_so_far() == before
    last = selectors.overview_page(page=3, per_page=10)
    assert [r.name for r in last.rows][-1] == "zz-new" and last.rows[-1].source == "live"


def test_the_api_pages_and_filters(viewer, queues):
    data = viewer.get("/api/queues/", {"per_page": 10, "page": 2}).json()
    assert [q["name"] for q in data["queues"]] == queues[10:20]
    assert (data["total"], data["page"], data["pages"], data["per_page"]) == (25, 2, 3, 10)
    data = viewer.get("/api/queues/", {"q": "q0", "status": "alert"}).json()
    assert [q["name"] for q in data["queues"]] == ["q03"] and data["total"] == 1
    assert len(viewer.get("/api/queues/").json()["queues"]) == 25  # default page: 500
    assert viewer.get("/api/queues/", {"status": "bogus"}).status_code == 400
    assert viewer.get("/api/queues/", {"page": "x"}).status_code == 400


def test_the_overview_page_shows_one_page_and_the_filter(viewer, queues):
    html = viewer.get("/", {"q": "q1"}).content.decode()
    assert 'data-queue="q10"' in html and 'data-queue="q03"' not in html
    assert "10 queues" in html
    html = viewer.get("/", {"status": "alert"}).content.decode()
    assert 'data-queue="q03"' in html and 'data-queue="q13"' in html
    assert 'data-queue="q04"' not in html
