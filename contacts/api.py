"""/api/v1/contacts: the people a tenant talks to."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.filters import DateTimeFilter
from config.api.serializers import (
    EmailOrEmptyField,
    JSONObjectField,
    PublicIdField,
    StrictCharField,
    StrictDateTimeField,
)
from config.api.views import ApiViewSet
from contacts.models import Contact, ContactIdentity
from contacts.phones import InvalidPhone, phone_normalize
from contacts.selectors import contact_search_q, contact_visible
from contacts.services import contact_create, contact_delete, contact_update


class ContactIdentityOutput(serializers.ModelSerializer):
    channel_id = PublicIdField(source="channel.public_id")
    channel_kind = serializers.CharField(source="channel.kind", read_only=True)

    class Meta:
        model = ContactIdentity
        fields = ["channel_id", "channel_kind", "external_id"]
        read_only_fields = fields


class ContactOutput(serializers.ModelSerializer):
    id = PublicIdField()
    email = EmailOrEmptyField(read_only=True, help_text="Empty when the contact has none.")
    picture_url = serializers.CharField(read_only=True, help_text=(
        "Where the contact's picture is, as their channel's provider last said (its link may expire); "
        "empty when none is known."))
    identities = ContactIdentityOutput(many=True, read_only=True)
    anonymised_at = serializers.DateTimeField(read_only=True, allow_null=True, help_text=(
        "When the contact's personal data was removed (LGPD; POST /contacts/{id}/anonymise); null: never."))

    class Meta:
        model = Contact
        fields = ["id", "name", "phone", "email", "language", "attributes", "consent_at", "consent_source",
                  "picture_url", "identities", "anonymised_at", "created_at", "updated_at"]
        read_only_fields = fields


class ContactInput(serializers.Serializer):
    name = StrictCharField(max_length=200, allow_blank=True)
    phone = StrictCharField(max_length=40, allow_blank=True, required=False,
                                  help_text="Any common writing; stored as E.164 (+5511987654321).")
    email = EmailOrEmptyField(max_length=254, allow_blank=True, required=False, help_text="Empty: none.")
    language = StrictCharField(max_length=8, allow_blank=True, required=False)
    attributes = JSONObjectField(required=False)
    consent_at = StrictDateTimeField(required=False, allow_null=True)
    consent_source = StrictCharField(max_length=120, allow_blank=True, required=False)


class ContactFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", help_text=(
        "Name, email or phone: accent- and case-insensitive (\"joao\" finds \"João\"), a phone by any run of "
        "its digits however written; every word must match."))
    q = django_filters.CharFilter(method="filter_search", help_text="The same as `search`.")
    phone = django_filters.CharFilter(method="filter_phone", help_text="Exact phone, normalised to E.164.")
    email = django_filters.CharFilter(method="filter_email", help_text="Exact email, case-insensitive.")
    updated_since = DateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Contact
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet[Contact], name: str, value: str) -> QuerySet[Contact]:
        return queryset.filter(contact_search_q(tenant=self.request.auth.tenant, text=value)) if value.strip() else queryset

    def filter_phone(self, queryset: QuerySet[Contact], name: str, value: str) -> QuerySet[Contact]:
        try:
            return queryset.filter(phone=phone_normalize(value, default_region=self.request.auth.tenant.default_country))
        except InvalidPhone:
            return queryset.none()

    def filter_email(self, queryset: QuerySet[Contact], name: str, value: str) -> QuerySet[Contact]:
        return queryset.filter(email__iexact=value.strip())


class ContactViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = ContactOutput
    filterset_class = ContactFilter
    ordering = ("-updated_at", "-id")
    required_permissions = {
        "list": "contacts:read", "retrieve": "contacts:read", "create": "contacts:write",
        "update": "contacts:write", "partial_update": "contacts:write", "destroy": "contacts:delete",
    }

    def get_queryset(self) -> QuerySet[Contact]:
        if getattr(self, "swagger_fake_view", False):
            return Contact.all_objects.none()
        return contact_visible(access=self.request.auth).prefetch_related("identities__channel")

    @extend_schema(request=ContactInput, responses={201: ContactOutput})
    def create(self, request: Request) -> Response:
        data = ContactInput(data=request.data)
        data.is_valid(raise_exception=True)
        contact = contact_create(tenant=request.auth.tenant, actor=request.user, **data.validated_data)
        return Response(ContactOutput(contact).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ContactInput, responses={200: ContactOutput})
    def update(self, request: Request, **kwargs: Any) -> Response:
        return self._update(request, partial=False)

    @extend_schema(request=ContactInput, responses={200: ContactOutput})
    def partial_update(self, request: Request, **kwargs: Any) -> Response:
        return self._update(request, partial=True)

    @extend_schema(responses={204: None}, summary="Delete a contact that has no conversations (409 otherwise)")
    def destroy(self, request: Request, **kwargs: Any) -> Response:
        contact_delete(contact=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _update(self, request: Request, *, partial: bool) -> Response:
        contact = self.get_object()
        data = ContactInput(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        contact = contact_update(contact=contact, actor=request.user, **data.validated_data)
        return Response(ContactOutput(contact).data)
