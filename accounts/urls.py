from django.urls import path

from accounts import views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("account/tenant", views.switch_tenant_view, name="switch-tenant"),
    path("account/language", views.language_view, name="language"),
]
