from django.urls import path

from accounts import invitation_views, notice_views, views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/code/", views.login_code_view, name="login-code"),
    path("logout/", views.logout_view, name="logout"),
    path("account/tenant", views.switch_tenant_view, name="switch-tenant"),
    path("account/language", views.language_view, name="language"),
    # Password reset by email (Django's views and tokens) and change.
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("password-reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("password-reset/done/", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("account/password/", views.PasswordChangeView.as_view(), name="password_change"),
    # The user's own security: two-factor login.
    path("account/security/", views.account_security_view, name="account-security"),
    path("account/two-factor/start", views.two_factor_start_view, name="two-factor-start"),
    path("account/two-factor/confirm", views.two_factor_confirm_view, name="two-factor-confirm"),
    path("account/two-factor/disable", views.two_factor_disable_view, name="two-factor-disable"),
    path("account/two-factor/recovery-codes", views.two_factor_recovery_codes_view,
         name="two-factor-recovery-codes"),
    # An invitation's link (accounts.invitations).
    path("invitations/<str:token>/", invitation_views.invitation_accept_view, name="invitation-accept"),
    # The member's notices (the bell).
    path("notifications/", notice_views.notices_view, name="notices"),
    path("notifications/read/", notice_views.notices_read_view, name="notices-read"),
    path("notifications/<uuid:notice_id>/open/", notice_views.notice_open_view, name="notice-open"),
    # The tenant's (its administrators').
    path("settings/security/", views.tenant_security_view, name="settings-security"),
    path("settings/security/cors/", views.tenant_cors_view, name="settings-security-cors"),
]
