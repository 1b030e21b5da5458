from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from dashboard import api, views
from dashboard.login_throttle import ThrottledAdminAuthenticationForm, ThrottledAuthenticationForm

admin.site.login_form = ThrottledAdminAuthenticationForm

api_urls = [
    path("api/queues/", api.queue_list, name="api-queues"),
    path("api/queues/<str:name>/", api.queue_detail, name="api-queue"),
    path("api/queues/<str:name>/history/", api.queue_history, name="api-queue-history"),
    path("api/queues/<str:name>/pending/", api.queue_pending, name="api-queue-pending"),
    path("api/queues/<str:name>/entries/", api.queue_entries, name="api-queue-entries"),
    path("api/queues/<str:name>/dead-letters/", api.queue_dead_letters, name="api-queue-dlq"),
    path("api/queues/<str:name>/locate/", api.queue_locate, name="api-queue-locate"),
    path(
        "api/queues/<str:name>/dead-letters/replay/",
        api.dead_letters_replay,
        name="api-queue-dlq-replay",
    ),
    path(
        "api/queues/<str:name>/dead-letters/delete/",
        api.dead_letters_delete,
        name="api-queue-dlq-delete",
    ),
    path("api/queues/<str:name>/groups/", api.group_create, name="api-group-create"),
    # group and consumer names travel in the POST body (they may hold "/")
    path("api/queues/<str:name>/groups/delete/", api.group_delete, name="api-group-delete"),
    path("api/queues/<str:name>/groups/watch/", api.group_watch, name="api-group-watch"),
    path("api/queues/<str:name>/groups/set-id/", api.group_set_id, name="api-group-set-id"),
    path(
        "api/queues/<str:name>/consumers/delete/", api.consumer_delete, name="api-consumer-delete"
    ),
    path("api/queues/<str:name>/trim/", api.queue_trim, name="api-queue-trim"),
    path("api/queues/<str:name>/trim-risk/", api.queue_trim_risk, name="api-queue-trim-risk"),
    path("api/queues/<str:name>/purge/", api.queue_purge, name="api-queue-purge"),
    path("api/monitor/", api.monitor, name="api-monitor"),
    path("api/audit/", api.audit, name="api-audit"),
    path("metrics", api.metrics, name="metrics"),
]

urlpatterns = [
    path("", include("alerts.urls")),
    path("", views.home, name="home"),
    path("queues/<str:name>/", views.queue_page, name="queue"),
    path("audit/", views.audit_page, name="audit"),
    path("find/", views.find_page, name="find"),
    path("health", views.health, name="health"),
    # pages without a <link rel="icon"> (admin, JSON) make browsers ask for /favicon.ico
    path(
        "favicon.ico",
        login_not_required(RedirectView.as_view(url=static("img/favicon.svg"), permanent=True)),
        name="favicon",
    ),
    path(
        "login/",
        auth_views.LoginView.as_view(authentication_form=ThrottledAuthenticationForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    *api_urls,
]
