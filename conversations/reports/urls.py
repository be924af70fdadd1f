from django.urls import path

from conversations.reports import views

urlpatterns = [
    path("", views.reports_view, name="reports"),
    path("export/<slug:table>.csv", views.reports_export_view, name="reports-export"),
]
