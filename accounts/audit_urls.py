from django.urls import path

from accounts import audit_views

urlpatterns = [
    path("audit/", audit_views.audit_log, name="settings-audit"),
    path("audit/export.csv", audit_views.audit_log_export, name="settings-audit-export"),
    path("audit/retention/", audit_views.audit_retention, name="settings-audit-retention"),
]
