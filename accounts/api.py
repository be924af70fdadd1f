"""POST /api/v1/auth/token, /auth/refresh, /auth/revoke."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.login import credentials_authenticate, login_access_log, second_factor_authenticate_if_enabled
from accounts.models import Role
from accounts.services import tokens_obtain, tokens_refresh, tokens_revoke
from config.api.schema import Error
from config.api.serializers import StrictCharField, StrictEmailField, StrictSlugField
from config.api.views import ApiView


class TokenObtainInput(serializers.Serializer):
    email = StrictEmailField()
    password = StrictCharField(max_length=256, trim_whitespace=False)
    tenant = StrictSlugField(required=False, help_text="The account's slug; needed when you belong to several.")
    otp = StrictCharField(
        required=False, max_length=64,
        help_text="The current code of the user's authenticator app, or one of their recovery codes (each works "
                  "once). Required when the user has two-factor login: without it the answer is 401 `otp_required`, "
                  "with a wrong one 401 `otp_invalid` (wrong codes count as failed logins: too many lock the account "
                  "as wrong passwords do). A tenant that requires two-factor login refuses a user who has not turned "
                  "it on: 403 `two_factor_required`.")


class RefreshInput(serializers.Serializer):
    refresh = StrictCharField(max_length=2048)


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField(help_text="Short-lived access JWT: send as `Authorization: Bearer <access>`.")
    refresh = serializers.CharField(help_text="Refresh JWT: exchange at /auth/refresh; each one works once.")
    tenant = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)


class _AuthView(ApiView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    rate_limit_scope = "auth"


class TokenObtainView(_AuthView):
    @extend_schema(
        request=TokenObtainInput, auth=[], tags=["auth"], summary="Log in: get an access and a refresh token",
        description="Email and password, and for a user with two-factor login the code of their authenticator app "
                    "(`otp`). Failed logins, wrong codes included, are counted per account and per client address: "
                    "too many lock the account for a while, and a locked account answers as a wrong password.",
        responses={
            200: TokenPairOutput,
            401: OpenApiResponse(Error, description="invalid_credentials: email or password wrong (or the account "
                                                    "locked); otp_required: the user has two-factor login and no "
                                                    "`otp` was sent; otp_invalid: the code is wrong."),
            403: OpenApiResponse(Error, description="two_factor_required: the tenant requires two-factor login and "
                                                    "the user has not turned it on; tenant_suspended."),
        })
    def post(self, request: Request) -> Response:
        data = TokenObtainInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = credentials_authenticate(request=request._request, email=data.validated_data["email"],
                                        password=data.validated_data["password"])
        two_factor = second_factor_authenticate_if_enabled(request=request._request, user=user,
                                                           code=data.validated_data.get("otp", ""))
        tokens = tokens_obtain(user=user, tenant_slug=data.validated_data.get("tenant"), two_factor=two_factor)
        login_access_log(request=request._request, user=user)
        return Response(tokens)


class TokenRefreshView(_AuthView):
    @extend_schema(request=RefreshInput, responses={200: TokenPairOutput}, auth=[], tags=["auth"],
                   summary="Rotate a refresh token for a new pair (with the member's current role)")
    def post(self, request: Request) -> Response:
        data = RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(tokens_refresh(refresh=data.validated_data["refresh"]))


class TokenRevokeView(_AuthView):
    @extend_schema(request=RefreshInput, responses={204: None}, auth=[], tags=["auth"],
                   summary="Log out: revoke a refresh token")
    def post(self, request: Request) -> Response:
        data = RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        tokens_revoke(refresh=data.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)
