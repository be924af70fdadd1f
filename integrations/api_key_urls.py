from django.urls import path

from integrations import api_key_views

urlpatterns = [
    path("api-keys/", api_key_views.api_key_list_view, name="settings-api-keys"),
    path("api-keys/<uuid:api_key_id>/revoke/", api_key_views.api_key_revoke_view, name="settings-api-key-revoke"),
]
