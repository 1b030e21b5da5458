"""Alerts pages (/alerts/) and API (/api/alerts/); included from dashboard/urls.py."""

from django.urls import path

from alerts import views

app_name = "alerts"

urlpatterns = [
    path("alerts/", views.alerts_page, name="list"),
    path("alerts/bulk/", views.alerts_bulk_page, name="bulk"),
    path("alerts/silence/", views.silence_page, name="silence"),
    path("api/alerts/bulk/", views.api_alerts_bulk, name="api-bulk"),
    path("api/alerts/summary/", views.api_alerts_summary, name="api-summary"),
    path("alerts/<int:pk>/", views.alert_page, name="detail"),
    path(
        "alerts/<int:pk>/acknowledge/",
        views.alert_action,
        {"action": "acknowledge"},
        name="acknowledge",
    ),
    path("alerts/<int:pk>/resolve/", views.alert_action, {"action": "resolve"}, name="resolve"),
    path("api/alerts/", views.api_alerts, name="api-list"),
    path("api/alerts/<int:pk>/", views.api_alert, name="api-detail"),
    path(
        "api/alerts/<int:pk>/acknowledge/",
        views.api_alert_action,
        {"action": "acknowledge"},
        name="api-acknowledge",
    ),
    path(
        "api/alerts/<int:pk>/resolve/",
        views.api_alert_action,
        {"action": "resolve"},
        name="api-resolve",
    ),
]
