"""Discover (admin) opens Redis connections only on a CSRF-checked POST to a valid URL,
and keeps none open afterwards (issue 15, item 9)."""

from __future__ import annotations

import pytest
from django.test import Client

from dashboard.monitor.library import reset_managers
from tests.support.queue_data import publish
from tests.support.redis_process import RedisServer, wait_for

pytestmark = pytest.mark.django_db

DISCOVER = "/admin/queues/queuedefinition/discover/"


@pytest.fixture(autouse=True)
def _fresh_managers():
    reset_managers()
    yield
    reset_managers()


@pytest.fixture
def staff(django_user_model) -> Client:
    user = django_user_model.objects.create_superuser("root", password="pw-for-tests-1")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def _connections_received(server: RedisServer) -> int:
    client = server.client()
    try:
        return int(client.info("stats")["total_connections_received"])
    finally:
        client.close()


def _csrf(client: Client) -> str:
    page = client.get(DISCOVER)
    assert page.status_code == 200
    return client.cookies["csrftoken"].value


def test_a_cross_site_get_opens_no_connection_to_the_url_it_names(staff, private_redis):
    publish(private_redis.url, "victim-queue", [{"n": 1}])
    before = _connections_received(private_redis)
    page = staff.get(DISCOVER, {"redis_url": private_redis.url})  # what an <img src> does
    assert _connections_received(private_redis) == before + 1  # only our own INFO
    assert "victim-queue" not in page.content.decode()


def test_a_post_without_the_csrf_token_is_refused_before_connecting(staff, private_redis):
    before = _connections_received(private_redis)
    response = staff.post(DISCOVER, {"action": "scan", "redis_url": private_redis.url})
    assert response.status_code == 403
    assert _connections_received(private_redis) == before + 1


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:80/",
        "file:///etc/passwd",
        "127.0.0.1:6379",
        "redis://127.0.0.1:6379/0\r\nFLUSHALL",
        "redis://" + "a" * 600,
        "redis:///",
    ],
)
def test_a_url_that_is_not_a_redis_url_is_refused_with_a_clear_error(staff, url):
    token = _csrf(staff)
    page = staff.post(DISCOVER, {"action": "scan", "redis_url": url, "csrfmiddlewaretoken": token})
    assert page.status_code == 400
    assert "Not a Redis URL" in page.content.decode()


def test_a_scan_lists_the_queues_and_keeps_no_connection_open(staff, private_redis):
    client = private_redis.client()
    client.xadd("sw:{found-queue}:stream", {"payload": "1", "ctype": "json"})
    client.sadd("sw:queues", "found-queue")

    def ids() -> set[str]:
        return {c["id"] for c in client.client_list()}

    before = ids()  # this client and whatever the fixtures left
    try:
        token = _csrf(staff)
        page = staff.post(
            DISCOVER,
            {"action": "scan", "redis_url": private_redis.url, "csrfmiddlewaretoken": token},
        )
        assert page.status_code == 200
        assert "found-queue" in page.content.decode()
        # the server notices a closed socket a moment later; a cached client never closes
        wait_for(lambda: ids() <= before, timeout=5, message="the scan's connections closed")
    finally:
        client.close()


def test_adopting_stores_the_scanned_url(staff, private_redis):
    from dashboard.catalog.models import QueueDefinition

    token = _csrf(staff)
    response = staff.post(
        DISCOVER,
        {
            "action": "adopt",
            "redis_url": private_redis.url,
            "adopt": ["found-queue"],
            "csrfmiddlewaretoken": token,
        },
    )
    assert response.status_code == 302
    assert QueueDefinition.objects.get(name="found-queue").redis_url == private_redis.url


def test_adopting_refuses_an_invalid_url(staff):
    from dashboard.catalog.models import QueueDefinition

    token = _csrf(staff)
    response = staff.post(
        DISCOVER,
        {"action": "adopt", "redis_url": "http://x/", "adopt": ["q"], "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 400
    assert not QueueDefinition.objects.exists()


def test_discover_lists_queues_and_plain_streams_apart_pages_and_adopts_after_validation(
    staff, private_redis
):
    from dashboard.catalog.models import QueueDefinition
    from dashboard.models import AuditLog
    from tests.support.redis_cli import redis_cli

    publish(private_redis.url, "lib-queue", [{"n": 1}])
    redis_cli(private_redis.url, "XADD", "orders", "*", "orderId", "1")
    redis_cli(private_redis.url, "XADD", "eu/orders", "*", "orderId", "1")
    redis_cli(private_redis.url, "XADD", "bad\r\nkey", "*", "f", "v")
    token = _csrf(staff)
    page = staff.post(
        DISCOVER, {"action": "scan", "redis_url": private_redis.url, "csrfmiddlewaretoken": token}
    ).content.decode()
    queues_part, streams_part = page.split("<h2>Plain streams</h2>")
    assert "lib-queue" in queues_part and "orders" not in queues_part
    assert "orders" in streams_part and "lib-queue" not in streams_part
    assert "sw:{lib-queue}" not in page  # the library's own keys are not plain streams

    response = staff.post(
        DISCOVER,
        {
            "action": "adopt",
            "redis_url": private_redis.url,
            "adopt": ["lib-queue"],
            "adopt_stream": ["orders", "eu/orders", "bad\r\nkey"],
            "csrfmiddlewaretoken": token,
        },
    )
    assert response.status_code == 302
    adopted = {d.name: (d.queue, d.stream) for d in QueueDefinition.objects.all()}
    assert adopted == {
        "lib-queue": ("lib-queue", ""),
        "orders": ("", "orders"),
        "eu_orders": ("", "eu/orders"),
    }  # the key with a line break failed full_clean() and was not adopted
    audited = AuditLog.objects.filter(action="admin.add").values_list("target", "username")
    assert sorted(audited) == [(n, "root") for n in ("eu_orders", "lib-queue", "orders")]
    listing = staff.get(response["Location"]).content.decode()
    assert "Not adopted" in listing and "line breaks" in listing

    again = staff.post(
        DISCOVER, {"action": "scan", "redis_url": private_redis.url, "csrfmiddlewaretoken": token}
    ).content.decode()
    assert 'value="orders"' not in again  # adopted streams are not offered again


def test_discover_walks_many_streams_page_by_page(staff, private_redis, monkeypatch):
    from dashboard.catalog import admin as queues_admin

    monkeypatch.setattr(queues_admin, "DISCOVER_PAGE", 10)
    client = private_redis.client()
    client.eval("for i = 1, 35 do redis.call('XADD', 's:' .. i, '*', 'f', 'v') end", 0)
    client.close()
    token = _csrf(staff)
    seen: set[str] = set()
    cursor = "0"
    for _ in range(20):
        page = staff.post(
            DISCOVER,
            {
                "action": "scan",
                "redis_url": private_redis.url,
                "cursor": cursor,
                "csrfmiddlewaretoken": token,
            },
        ).content.decode()
        import re

        seen |= set(re.findall(r'name="adopt_stream" value="(s:\d+)"', page))
        found = re.search(r'name="cursor" value="([^"]+)"', page)
        if found is None:
            break
        cursor = found.group(1)
    assert seen == {f"s:{i}" for i in range(1, 36)}


def test_the_dashboards_client_cache_is_bounded(private_redis, monkeypatch):
    import gc

    from dashboard.monitor import library

    monkeypatch.setattr(library, "MAX_MANAGERS", 3, raising=False)
    client = private_redis.client()
    before = {c["id"] for c in client.client_list()}
    try:
        for db in range(10):  # ten URLs, each polled once
            library.manager_for(f"{private_redis.url.rsplit('/', 1)[0]}/{db}").queues()
        gc.collect()
        wait_for(
            lambda: len({c["id"] for c in client.client_list()} - before) <= 3,
            timeout=5,
            message="at most the cached clients stay connected",
        )
    finally:
        client.close()
