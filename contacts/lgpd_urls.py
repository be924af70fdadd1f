from django.urls import path

from contacts import lgpd_views

# Under /contacts/.
urlpatterns = [
    path("<uuid:contact_id>/merge/", lgpd_views.contact_merge_view, name="contact-merge"),
    path("<uuid:contact_id>/lgpd/", lgpd_views.contact_lgpd_view, name="contact-lgpd"),
    path("<uuid:contact_id>/lgpd/export", lgpd_views.contact_export_view, name="contact-lgpd-export"),
    path("<uuid:contact_id>/lgpd/anonymise/", lgpd_views.contact_anonymise_view, name="contact-lgpd-anonymise"),
]

# Under /settings/.
settings_urlpatterns = [
    path("privacy/", lgpd_views.privacy_settings_view, name="settings-privacy"),
]
