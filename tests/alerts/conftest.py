import pytest


@pytest.fixture(autouse=True)
def _dashboard_uses_test_redis(django_redis: str) -> str:
    return django_redis
