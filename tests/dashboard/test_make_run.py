"""`make run` (manage.py serve) on an empty database: without any manual step the demo
workload produces claims, and the dashboard shows claimed alerts within 2 minutes."""

from __future__ import annotations

import http.cookiejar
import json
import os
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.support.redis_process import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "make-run-test-pw"


class Browser:
    """A tiny session-keeping HTTP client (login with CSRF, then JSON GETs)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with self.opener.open(self.base + path, timeout=5) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def login(self, username: str, password: str) -> None:
        self.get("/login/")
        token = next(c.value for c in self.jar if c.name == "csrftoken")
        data = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": token}
        ).encode()
        request = urllib.request.Request(
            self.base + "/login/", data=data, headers={"Referer": self.base + "/login/"}
        )
        with self.opener.open(request, timeout=5) as response:
            assert response.status == 200
        assert any(c.name == "sessionid" for c in self.jar), "login failed"


@pytest.mark.slow
def test_make_run_shows_claims_and_alerts_without_manual_steps(private_redis, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings.base",
        "REDIS_URL": private_redis.url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "STREAMWARDEN_ADMIN_PASSWORD": PASSWORD,
        "STREAMWARDEN_POLL_INTERVAL": "1",
    }
    serve = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        browser = Browser(base)
        # The login page within 60 s of starting.
        wait_for(
            lambda: browser.get("/login/")[0] == 200, 60, interval=0.5, message="login page served"
        )
        status, body = browser.get("/health")
        assert status == 200 and json.loads(body)["redis"] == "ok"
        browser.login("admin", PASSWORD)

        def claimed_alerts() -> list[dict]:
            status, body = browser.get("/api/alerts/?kind=claimed")
            return json.loads(body)["results"] if status == 200 else []

        alerts = wait_for(claimed_alerts, 120, interval=1, message="a claimed alert appears")
        assert all(a["queue"] == "demo.emails" for a in alerts)
        status, body = browser.get("/api/queues/")
        assert status == 200
        assert {"demo.orders", "demo.emails", "demo.payments"} <= {
            q["name"] for q in json.loads(body)["queues"]
        }
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        try:
            serve.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
