"""GET /health: for load balancers, no login, no secrets, 503 when a dependency is down."""

import pytest

pytestmark = pytest.mark.django_db


def test_health_reports_ok_when_redis_and_database_answer(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "redis": "ok", "database": "ok"}


def test_health_reports_redis_down_then_recovers(client, settings, private_redis):
    settings.REDIS_URL = private_redis.url
    assert client.get("/health").status_code == 200

    private_redis.stop()
    response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["redis"] == "down"
    assert body["database"] == "ok"
    assert body["redis_error"] == "ConnectionError"

    private_redis.start()
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["redis"] == "ok"


def test_health_never_shows_the_redis_password(client, settings, private_redis):
    settings.REDIS_URL = f"redis://:s3cret-pw@127.0.0.1:{private_redis.port}/0"
    private_redis.stop()
    response = client.get("/health")
    assert response.status_code == 503
    assert "s3cret-pw" not in response.content.decode()
