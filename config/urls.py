from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.api.errors import api_not_found
from config.metrics_views import metrics_view
from config.security import csp_report
from contacts import lgpd_urls
from conversations.styleguide import styleguide
from integrations.health import HealthView
from integrations.inbound.views import provider_webhook

urlpatterns = [
    path("", RedirectView.as_view(url="/inbox/", permanent=False)),
    path("", include("accounts.urls")),
    path("inbox/", include("conversations.urls")),
    path("contacts/", include("contacts.urls")),
    path("reports/", include("conversations.reports.urls")),
    path("settings/", include("integrations.urls")),
    path("settings/", include("accounts.audit_urls")),
    path("settings/", include("conversations.settings_urls")),
    path("settings/", include("integrations.member_urls")),
    path("settings/", include("integrations.api_key_urls")),
    path("settings/", include(lgpd_urls.settings_urlpatterns)),
    path("settings/", include("webhooks.urls")),
    path("settings/", include("integrations.alert_urls")),
    path("contacts/", include("contacts.lgpd_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("webhooks/<slug:kind>/<str:token>", provider_webhook, name="provider-webhook"),
    path("api/health", HealthView.as_view(), name="health"),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Its script is a request of its own (?script): the Content-Security-Policy allows no inline one.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("csp-report/", csp_report, name="csp-report"),
    path("styleguide/", styleguide, name="styleguide"),
    path("api/v1/", include("config.api.urls")),
    # The product seeds' API contracts: documented aliases of the API above.
    path("", include("integrations.seed_contracts.urls")),
    re_path(r"^api/", api_not_found),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler500 = "config.api.errors.server_error"
