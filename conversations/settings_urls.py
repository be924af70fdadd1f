from django.urls import path

from conversations import settings_views

urlpatterns = [
    path("teams/", settings_views.team_settings, name="settings-teams"),
    path("teams/<uuid:team_id>/", settings_views.team_detail, name="settings-team"),
    path("teams/<uuid:team_id>/delete/", settings_views.team_remove, name="settings-team-delete"),
    path("labels/", settings_views.label_settings, name="settings-labels"),
    path("labels/<uuid:label_id>/", settings_views.label_change, name="settings-label"),
    path("labels/<uuid:label_id>/delete/", settings_views.label_remove, name="settings-label-delete"),
    path("canned-responses/", settings_views.canned_response_settings, name="settings-canned-responses"),
    path("canned-responses/new/", settings_views.canned_response_add, name="settings-canned-response-add"),
    path("canned-responses/<uuid:response_id>/", settings_views.canned_response_detail,
         name="settings-canned-response"),
    path("canned-responses/<uuid:response_id>/delete/", settings_views.canned_response_remove,
         name="settings-canned-response-delete"),
]
