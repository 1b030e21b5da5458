"""Pure parts of the library: thresholds, health statuses, serializers, backoff, tickets."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from queues import (
    QueueUnavailable,
    SerializationError,
    StreamWardenError,
    Threshold,
    Thresholds,
    UndecodableEntry,
)
from queues.backoff import retry_delay
from queues.commands import preparer
from queues.delayed import message_ticket
from queues.entries import decode, encode, serializer_map
from queues.health import classify, evaluate
from queues.serializers import JSON, JSONSerializer, resolve
from queues.types import GroupInfo, QueueInfo


def test_import_queues_needs_only_redis() -> None:
    code = (
        "import sys, queues\n"
        "assert 'django' not in sys.modules, sorted(m for m in sys.modules if 'django' in m)\n"
        "print(queues.Producer, queues.Consumer, queues.Manager, queues.Message)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


class TestThresholds:
    def test_defaults_are_valid(self) -> None:
        t = Thresholds()
        assert t.lag.warn is not None and t.lag.alert is not None and t.lag.warn < t.lag.alert

    def test_warn_must_be_below_alert_when_higher_is_worse(self) -> None:
        with pytest.raises(ValueError, match=r"lag: warn \(100\) must be below alert \(10\)"):
            Thresholds(lag=(100, 10))
        with pytest.raises(ValueError, match="pending"):
            Thresholds(pending=Threshold(warn=5, alert=5))

    def test_warn_must_be_above_alert_when_lower_is_worse(self) -> None:
        with pytest.raises(ValueError, match="active_consumers: warn"):
            Thresholds(active_consumers=(1, 2))
        assert Thresholds(active_consumers=(2, 1)).active_consumers == Threshold(2, 1)

    def test_levels_may_be_switched_off_but_not_negative(self) -> None:
        assert Thresholds(dead=(None, 5)).dead == Threshold(None, 5)
        with pytest.raises(ValueError, match=">= 0"):
            Thresholds(lag=(-1, 10))
        with pytest.raises(ValueError):
            Thresholds(lag="high")  # type: ignore[arg-type]

    def test_from_mapping(self) -> None:
        t = Thresholds.from_mapping({"lag": {"warn": 1, "alert": 2}, "dead": (3, 4)})
        assert (t.lag, t.dead) == (Threshold(1, 2), Threshold(3, 4))
        with pytest.raises(ValueError, match="unknown"):
            Thresholds.from_mapping({"latency": (1, 2)})


@pytest.mark.parametrize(
    ("metric", "value", "levels", "status"),
    [
        ("lag", 9, (10, 100), "ok"),
        ("lag", 10, (10, 100), "warn"),
        ("lag", 100, (10, 100), "alert"),
        ("lag", None, (10, 100), "ok"),
        ("active_consumers", 3, (2, 0), "ok"),
        ("active_consumers", 2, (2, 0), "warn"),
        ("active_consumers", 0, (2, 0), "alert"),
        ("dead", 1000, (None, None), "ok"),
    ],
)
def test_classify(metric: str, value: int | None, levels: tuple, status: str) -> None:
    assert classify(metric, value, Threshold(*levels)) == status


def _group(**kw: object) -> GroupInfo:
    base: dict = dict(
        name="g",
        consumers=(),
        active_consumers=2,
        pending=0,
        lag=0,
        oldest_pending_ms=None,
        last_delivered_id="0-0",
        entries_read=0,
    )
    base.update(kw)
    return GroupInfo(**base)


def _queue(*groups: GroupInfo, dead: int = 0, length: int = 0) -> QueueInfo:
    return QueueInfo(name="q", exists=True, length=length, groups=groups, dead=dead, delayed=0)


def test_health_is_the_worst_check() -> None:
    t = Thresholds(lag=(10, 100), pending=(10, 100), dead=(1, 10), active_consumers=(1, 0))
    assert evaluate(_queue(_group()), t).status == "ok"
    assert evaluate(_queue(_group(lag=50)), t).status == "warn"
    health = evaluate(_queue(_group(lag=50), _group(name="h", active_consumers=0)), t)
    assert health.status == "alert"
    assert {(c.name, c.group) for c in health.failing()} == {
        ("lag", "g"),
        ("active_consumers", "h"),
    }
    assert evaluate(_queue(_group(), dead=10), t).status == "alert"
    unknown_lag = evaluate(_queue(_group(lag=None)), t)
    assert unknown_lag.status == "ok"
    assert any(c.detail == "lag unknown" for c in unknown_lag.checks)


def test_a_queue_without_groups_has_no_active_consumers_and_all_entries_undelivered() -> None:
    health = evaluate(_queue(length=5), Thresholds(lag=(1, 10)))
    by_name = {c.name: c for c in health.checks}
    assert by_name["active_consumers"].status == "alert"
    assert (by_name["lag"].value, by_name["lag"].status) == (5, "warn")


def test_an_evicting_memory_policy_warns() -> None:
    health = evaluate(_queue(_group()), Thresholds(), eviction_policy="allkeys-lfu")
    assert health.status == "warn"
    assert evaluate(_queue(_group()), Thresholds(), eviction_policy="noeviction").status == "ok"


class TestSerializers:
    def test_json_round_trip(self) -> None:
        data = {"a": [1, 2.5, "ü"], "b": None}
        assert JSON.loads(JSON.dumps(data)) == data

    def test_errors_say_what_is_wrong(self) -> None:
        with pytest.raises(SerializationError, match="not JSON-serialisable"):
            JSON.dumps({1, 2})
        with pytest.raises(UndecodableEntry, match="not valid JSON"):
            JSON.loads(b"{nope")
        with pytest.raises(UndecodableEntry):
            JSON.loads(b"\xff\xfe")

    @pytest.mark.parametrize(
        "data", [b'{"a":1}', b" [1, 2] ", b"1", b'"\xc3\xa9"', b"NaN", b"null", b"  0\n"]
    )
    def test_json_loads_exactly_as_the_standard_library(self, data: bytes) -> None:
        assert JSON.loads(data) == json.loads(data) or data == b"NaN"

    @pytest.mark.parametrize("data", [b"", b"nul", b'{"a":1} x', b"1 2", b"[1,"])
    def test_json_refuses_what_the_standard_library_refuses(self, data: bytes) -> None:
        with pytest.raises(ValueError):
            json.loads(data)
        with pytest.raises(UndecodableEntry, match="not valid JSON"):
            JSON.loads(data)

    def test_entries_decode_from_bytes_or_text_keys_alike(self) -> None:
        fields = encode({"x": 1}, JSON, {"h": "v"}, 1234)
        fields["only_group"] = "g"
        as_bytes = decode({k.encode(): v for k, v in fields.items()}, serializer_map(JSON))
        as_text = decode(dict(fields), {"json": JSON})
        assert as_bytes == as_text == ({"x": 1}, {"h": "v"}, 1234, "g")

    def test_exceptions_are_also_standard_types(self) -> None:
        assert issubclass(SerializationError, ValueError)
        assert issubclass(QueueUnavailable, ConnectionError)
        assert issubclass(QueueUnavailable, StreamWardenError)

    def test_a_plugged_serializer_must_look_like_one(self) -> None:
        assert isinstance(resolve(None), JSONSerializer)
        with pytest.raises(TypeError, match="not a serializer"):
            resolve(object())  # type: ignore[arg-type]

    def test_entries_decode_with_the_serializer_named_in_them(self) -> None:
        fields = encode({"x": 1}, JSON, {"h": "v"}, 1234)
        decoded = decode({k.encode(): v for k, v in fields.items()}, {"json": JSON})
        assert (decoded.payload, decoded.headers, decoded.published_ms) == (
            {"x": 1},
            {"h": "v"},
            1234,
        )
        with pytest.raises(UndecodableEntry, match="no serializer for content type 'msgpack'"):
            decode({b"payload": b"x", b"ctype": b"msgpack"}, {"json": JSON})
        with pytest.raises(SerializationError, match="headers"):
            encode(1, JSON, {"h": object()}, 0)


_GOOD = encode({"x": 1}, JSON, {"h": "v"}, 1234)


@pytest.mark.parametrize(
    ("fields", "deliveries"),
    [
        (_GOOD, 1),
        ({**_GOOD, "headers": "[1]"}, 1),
        ({**_GOOD, "headers": "{"}, 1),
        ({**_GOOD, "published": "soon"}, 2),
        ({"payload": b'{"x"'}, 1),
        ({"payload": b"1", "ctype": "msgpack"}, 1),
        ({"body": b"1"}, 1),
        ({**_GOOD, "only_group": "g"}, 1),
        ({**_GOOD, "only_group": "other"}, 1),
        (_GOOD, 5),
        (_GOOD, 6),
        ({"payload": b"nul"}, 6),
    ],
)
def test_the_consumer_hot_path_decides_as_the_general_decoder(
    fields: dict[str, bytes | str], deliveries: int
) -> None:
    prepare = preparer(queue="q", group="g", max_deliveries=5, serializers=serializer_map(JSON))
    as_redis_returns = {
        k.encode(): v.encode() if isinstance(v, str) else v for k, v in fields.items()
    }
    fast = prepare("1-0", as_redis_returns, deliveries)  # bytes keys: the hot path
    general = prepare("1-0", dict(fields), deliveries)  # text keys: entries.decode
    assert fast == general


def test_retry_delay_grows_exponentially_and_is_capped() -> None:
    delays = [retry_delay(n, base=1.0, cap=10.0) for n in range(1, 7)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert retry_delay(10_000, base=1.0, cap=300.0) == 300.0
    jittered = {retry_delay(3, base=1.0, cap=100, jitter=0.1) for _ in range(50)}
    assert all(3.6 <= d <= 4.4 for d in jittered) and len(jittered) > 1


def test_message_tickets_hex_encode_binary_values() -> None:
    ticket = json.loads(message_ticket({"payload": b"\xff\x00", "ctype": "raw"}, "u1"))
    assert ticket["f"] == ["payload", "ff00", "ctype", "raw"]
    assert ticket["x"] == 2  # 1-based Lua index of the hex value
    text_ticket = json.loads(message_ticket({"payload": b'{"a":1}'}, "u2"))
    assert text_ticket["f"] == ["payload", '{"a":1}'] and "x" not in text_ticket
