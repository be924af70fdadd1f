"""/api/v1/contacts/{id}/merge, /export and /anonymise: a contact's merge and LGPD requests."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.schema import Error
from config.api.serializers import PublicIdRelatedField
from config.api.views import ApiGenericView
from contacts.api import ContactOutput
from contacts.lgpd import contact_anonymise, contact_export
from contacts.merge import contact_merge
from contacts.models import Contact
from contacts.selectors import contact_visible


class _VisibleContactField(PublicIdRelatedField):
    def get_queryset(self) -> QuerySet[Contact]:
        return contact_visible(access=self.context["access"])


class ContactMergeInput(serializers.Serializer):
    other_id = _VisibleContactField(name="contact", help_text=(
        "The contact merged into this one: its conversations and addresses move here, then it is deleted."))


class _ContactView(ApiGenericView):
    serializer_class = ContactOutput

    def get_queryset(self) -> QuerySet[Contact]:
        if getattr(self, "swagger_fake_view", False):
            return Contact.all_objects.none()
        return contact_visible(access=self.request.auth).prefetch_related("identities__channel")


class ContactMergeView(_ContactView):
    """POST: merge another contact into this one."""

    required_permissions = {"post": "contacts:write"}

    @extend_schema(request=ContactMergeInput, responses={
        200: ContactOutput,
        409: OpenApiResponse(Error, description="contact_anonymised: an anonymised contact cannot be merged."),
    }, summary="Merge another contact into this one (it is deleted)")
    def post(self, request: Request, **kwargs: Any) -> Response:
        contact = self.get_object()
        data = ContactMergeInput(data=request.data, context={"access": request.auth})
        data.is_valid(raise_exception=True)
        kept = contact_merge(keep=contact, merge=data.validated_data["other_id"], actor=request.user)
        return Response(ContactOutput(self.get_queryset().get(pk=kept.pk)).data)


class ContactExportView(_ContactView):
    """GET: everything held about the contact (LGPD), as a zip: contact.json and the files."""

    required_permissions = {"get": "contacts:write"}

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY},
                   summary="Export everything held about a contact (LGPD): a zip of JSON and files")
    def get(self, request: Request, **kwargs: Any) -> FileResponse:
        export = contact_export(contact=self.get_object(), actor=request.user)
        return FileResponse(export.file, as_attachment=True, filename=export.file_name,
                            content_type="application/zip")


class ContactAnonymiseView(_ContactView):
    """POST: remove the contact's personal data for good (LGPD)."""

    required_permissions = {"post": "contacts:delete"}

    @extend_schema(request=None, responses={
        200: ContactOutput,
        409: OpenApiResponse(Error, description="contact_anonymised: already anonymised."),
    }, summary="Anonymise a contact for good (LGPD): messages stay, without content")
    def post(self, request: Request, **kwargs: Any) -> Response:
        contact = contact_anonymise(contact=self.get_object(), actor=request.user)
        return Response(ContactOutput(self.get_queryset().get(pk=contact.pk)).data)
