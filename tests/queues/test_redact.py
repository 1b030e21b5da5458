"""One redactor for every URL that is shown, logged, stored or sent: no secret survives it.

Redis URLs carry secrets in the userinfo (``:password@``) and in query parameters
(``?password=``, ``?sentinel_password=`` — a documented form of the library's Sentinel URLs).
"""

from __future__ import annotations

import pytest

from queues.connection import mask_url
from queues.redact import redact_url

SECRET = "hunter2"


@pytest.mark.parametrize(
    "url",
    [
        f"redis://:{SECRET}@127.0.0.1:6379/0",
        f"redis://ops:{SECRET}@127.0.0.1:6379/0",
        f"redis://127.0.0.1:6379/0?password={SECRET}",
        f"redis://127.0.0.1:6379/0?db=1&PASSWORD={SECRET}&socket_timeout=2",
        f"redis+sentinel://h1:26379,h2:26379/mymaster/0?sentinel_password={SECRET}",
        f"redis+sentinel://:{SECRET}@h1:26379,h2:26379/mymaster?sentinel_password={SECRET}x",
        f"redis+cluster://:{SECRET}@h1:7000,h2:7001",
        f"rediss://h:6380/0?ssl_password={SECRET}&username=ops",
        f"https://hooks.example.com/in?token={SECRET}",
        f"https://hooks.example.com/in?api_key={SECRET}&access_token={SECRET}",
        f"unix:///run/redis.sock?password={SECRET}&db=0",
        f"redis://h:6379/0?password={SECRET}#frag",
        f"redis://h:6379/0?password={SECRET.replace('2', '%32')}",
        f"redis://h:6379/0?a=1;password={SECRET}",
        f"redis://:{SECRET}@[::1]:6379/0",
    ],
)
def test_no_secret_survives(url):
    redacted = redact_url(url)
    assert SECRET not in redacted
    assert "hunter%32" not in redacted
    assert "***" in redacted


def test_what_is_not_secret_is_kept_as_written():
    url = "redis+sentinel://h1:26379,h2:26379/mymaster/0?sentinel_password=x&db=1&socket_timeout=2"
    assert (
        redact_url(url)
        == "redis+sentinel://h1:26379,h2:26379/mymaster/0?sentinel_password=***&db=1&socket_timeout=2"
    )
    assert redact_url("redis://ops:pw@h:6379/0") == "redis://ops:***@h:6379/0"
    assert redact_url("redis://h:6379/0") == "redis://h:6379/0"


def test_it_is_idempotent():
    url = f"redis://:{SECRET}@h:1/0?password={SECRET}"
    assert redact_url(redact_url(url)) == redact_url(url)


@pytest.mark.parametrize(
    "url",
    [
        f"redis://[::1:6379/0?password={SECRET}",  # the standard parser raises on this one
        f"redis://:pa/ss{SECRET}@h:6379/0",  # an unencoded "/" in the password
        f"redis://:p@ss{SECRET}@h:6379/0",  # an unencoded "@" in the password
        f"h:1?password={SECRET}",
        f"redis://h:1/0?password={SECRET}\n\x00",
    ],
)
def test_odd_or_hostile_urls_lose_their_secret_too(url):
    assert SECRET not in redact_url(url)


@pytest.mark.parametrize("url", ["", "not a url", "redis://h:1/0?", "\udcff://x", "?&&=&"])
def test_anything_at_all_gives_a_string(url):
    assert isinstance(redact_url(url), str)


def test_the_library_error_messages_use_it():
    assert mask_url is redact_url
