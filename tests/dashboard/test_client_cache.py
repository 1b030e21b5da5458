"""One cache of Redis clients for the whole dashboard, emptied when its settings change."""

from __future__ import annotations

from alerts import ingest
from dashboard.monitor import library


def test_alert_ingestion_and_the_pages_share_one_client_per_redis(redis_url, queue_name):
    library.reset_managers()
    ingest.ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="m")
    assert [url for url, _ in library._managers] == [redis_url]  # ingestion used the cache
    assert library.manager_for(redis_url) is library.manager_for(redis_url)
    assert len(library._managers) == 1


def test_changing_the_redis_setting_closes_the_cached_clients(settings, redis_url):
    library.reset_managers()
    settings.REDIS_URL = redis_url
    cached = library.manager_for()
    assert cached.client.ping()
    settings.STREAMWARDEN_ACTIVE_IDLE = 7  # any change: the old client is closed, forgotten
    assert library._managers == {}
    settings.REDIS_URL = redis_url
    assert library.manager_for() is not cached
