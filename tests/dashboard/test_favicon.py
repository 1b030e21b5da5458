"""Every page has a favicon (no console 404, issue 17)."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db


def test_favicon_ico_leads_to_the_icon_and_pages_link_it(client: Client, django_user_model):
    response = Client().get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("img/favicon.svg")
    assert finders.find("img/favicon.svg"), "the icon is a static file of the dashboard"
    client.force_login(django_user_model.objects.create_user("viewer", password="pw-x-1234567"))
    page = client.get("/alerts/").content.decode()
    assert '<link rel="icon" href="/static/img/favicon.svg"' in page
