from django.urls import path

from contacts import views

urlpatterns = [
    path("", views.contact_list, name="contacts"),
    path("<uuid:contact_id>/", views.contact_detail, name="contacts-detail"),
    path("import/", views.import_start, name="contacts-import-start"),
    path("import/<uuid:job_id>/", views.import_detail, name="contacts-import"),
    path("import/<uuid:job_id>/progress/", views.import_progress, name="contacts-import-progress"),
    path("import/<uuid:job_id>/rejected.csv", views.import_rejected, name="contacts-import-rejected"),
    path("export/", views.export_start, name="contacts-export"),
    path("exports/", views.export_list, name="contacts-exports"),
    path("exports/<uuid:job_id>/download/", views.export_download, name="contacts-export-download"),
]
