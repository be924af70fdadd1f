from django.urls import path

from integrations import settings_views
from integrations.monitoring.views import integrations_health_view

urlpatterns = [
    path("health/", integrations_health_view, name="settings-health"),
    path("channels/", settings_views.channel_settings, name="settings-channels"),
    path("channels/new/<slug:kind>/", settings_views.channel_add, name="settings-add-channel"),
    path("channels/<uuid:channel_id>/", settings_views.channel_detail, name="settings-channel"),
    path("channels/<uuid:channel_id>/templates/sync/", settings_views.channel_sync_templates,
         name="settings-sync-templates"),
    path("channels/<uuid:channel_id>/webhooks/process-again/", settings_views.channel_webhooks_process_again,
         name="settings-webhooks-process-again"),
    path("channels/<uuid:channel_id>/pairing/", settings_views.channel_pairing, name="settings-channel-pairing"),
    path("channels/<uuid:channel_id>/pairing/<slug:action>/", settings_views.channel_pairing_action,
         name="settings-channel-pairing-action"),
]
