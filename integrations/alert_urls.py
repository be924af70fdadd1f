from django.urls import path

from integrations import alert_views

urlpatterns = [
    path("alerts/", alert_views.alert_rules_view, name="settings-alerts"),
    path("alerts/<uuid:rule_id>/", alert_views.alert_rule_view, name="settings-alert"),
    path("alerts/<uuid:rule_id>/delete/", alert_views.alert_rule_delete_view, name="settings-alert-delete"),
]
