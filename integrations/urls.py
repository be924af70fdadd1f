from django.urls import path

from integrations import settings_views

urlpatterns = [
    path("channels/", settings_views.channel_settings, name="settings-channels"),
    path("channels/new/whatsapp/", settings_views.channel_add_whatsapp, name="settings-add-whatsapp"),
    path("channels/<int:channel_id>/", settings_views.channel_detail, name="settings-channel"),
    path("channels/<int:channel_id>/templates/sync/", settings_views.channel_sync_templates,
         name="settings-sync-templates"),
]
