from django.urls import path

from webhooks import views

urlpatterns = [
    path("webhooks/", views.webhook_settings, name="settings-webhooks"),
    path("webhooks/<uuid:webhook_id>/", views.webhook_detail, name="settings-webhook"),
    path("webhooks/<uuid:webhook_id>/rotate/", views.webhook_rotate, name="settings-webhook-rotate"),
    path("webhooks/<uuid:webhook_id>/test/", views.webhook_test, name="settings-webhook-test"),
    path("webhooks/<uuid:webhook_id>/disable/", views.webhook_disable, name="settings-webhook-disable"),
    path("webhooks/<uuid:webhook_id>/enable/", views.webhook_enable, name="settings-webhook-enable"),
    path("webhooks/<uuid:webhook_id>/delete/", views.webhook_remove, name="settings-webhook-delete"),
    path("webhooks/deliveries/<uuid:delivery_id>/replay/", views.webhook_delivery_resend,
         name="settings-webhook-delivery-replay"),
]
