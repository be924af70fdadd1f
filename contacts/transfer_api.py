"""/api/v1/contacts/imports and /api/v1/contacts/exports: CSV imports and exports of contacts
for integrators, the same jobs the contacts pages run (contacts.imports, contacts.exports)."""

from __future__ import annotations

import io
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.schema import Error
from config.api.serializers import (
    PublicIdField,
    PublicIdInput,
    StrictBooleanField,
    StrictCharField,
    StrictDateTimeField,
)
from config.api.views import ApiViewSet
from config.errors import NotFoundError
from contacts.exports import export_job_create, export_visible
from contacts.imports import TARGETS, import_error_message, import_job_create, import_job_map
from contacts.models import ExportJob, ImportJob
from contacts.selectors import ContactFilters
from contacts.tasks import contacts_export_queue, contacts_import_queue


class ImportErrorOutput(serializers.Serializer):
    line = serializers.IntegerField(help_text="The row's line in the file (its header is line 1).")
    column = serializers.CharField(help_text="The column's header; empty when the row as a whole is refused.")
    code = serializers.CharField(help_text="`phone_invalid`, `email_invalid`, `no_address`, `name_too_long`, "
                                           "`language_invalid`.")
    message = serializers.CharField()
    value = serializers.CharField(help_text="What the cell said.")


class ImportJobOutput(serializers.ModelSerializer):
    id = PublicIdField()
    errors = serializers.SerializerMethodField(help_text="The rejected rows' reasons (the first 1000).")
    mapping = serializers.ListField(child=serializers.ChoiceField(choices=TARGETS), read_only=True)
    headers = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = ImportJob
        fields = ["id", "status", "file_name", "headers", "mapping", "total_rows", "processed_rows", "created_count",
                  "updated_count", "unchanged_count", "rejected_count", "errors", "created_at", "finished_at"]
        read_only_fields = fields

    def get_errors(self, job: ImportJob) -> list[dict[str, Any]]:
        return [{"line": error["line"], "column": error["column"], "code": error["code"],
                 "message": import_error_message(error["code"]), "value": error["value"]} for error in job.errors]

    get_errors = extend_schema(responses=ImportErrorOutput(many=True))(get_errors)  # type: ignore[assignment]


class ImportJobInput(serializers.Serializer):
    csv = StrictCharField(help_text="The CSV file's text: a header line, then a contact a line; separated by `,`, "
                                    "`;` or tabs (the body is at most API_MAX_BODY_BYTES, 1 MB by default).",
                          trim_whitespace=False)
    file_name = StrictCharField(max_length=255, required=False, default="contacts.csv")
    mapping = serializers.ListField(
        child=serializers.ChoiceField(choices=TARGETS), required=False, max_length=500,
        help_text="What each column is, in order; omitted: guessed from the headers (`nome`, `telefone`, "
                  "`celular`, `e-mail`...). Needs a phone or an email column.")


class ExportJobOutput(serializers.ModelSerializer):
    id = PublicIdField()
    filters = serializers.DictField(read_only=True)

    class Meta:
        model = ExportJob
        fields = ["id", "status", "filters", "row_count", "created_at", "finished_at"]
        read_only_fields = fields


class ExportJobInput(serializers.Serializer):
    q = StrictCharField(max_length=200, required=False, allow_blank=True,
                        help_text="Name, phone or email, as /api/v1/contacts?q= searches.")
    channel = PublicIdInput(required=False, help_text="Only contacts known on this channel.")
    has_phone = StrictBooleanField(required=False)
    has_email = StrictBooleanField(required=False)
    created_since = StrictDateTimeField(required=False)
    created_before = StrictDateTimeField(required=False)


class ContactImportViewSet(mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = ImportJobOutput
    required_permissions = {"create": "contacts:write", "retrieve": "contacts:write"}

    def get_queryset(self) -> QuerySet[ImportJob]:
        if getattr(self, "swagger_fake_view", False):
            return ImportJob.all_objects.none()
        return ImportJob.objects.all()

    @extend_schema(request=ImportJobInput, responses={202: ImportJobOutput},
                   summary="Import contacts from a CSV",
                   description="Queues the import: poll GET /api/v1/contacts/imports/{id} until `status` is `done`. "
                               "Phones are normalised to E.164 in the account's country; a row whose phone (then "
                               "email) names a known contact updates it, so importing twice makes no duplicate.")
    def create(self, request: Request) -> Response:
        data = ImportJobInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        job = import_job_create(tenant=request.auth.tenant, actor=request.user,
                                upload=io.BytesIO(values["csv"].encode("utf-8")), file_name=values["file_name"])
        job = import_job_map(job=job, actor=request.user, mapping=values.get("mapping") or job.mapping)
        contacts_import_queue(job.pk)
        return Response(ImportJobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class ContactExportViewSet(mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = ExportJobOutput
    required_permissions = {"create": "contacts:read", "retrieve": "contacts:read", "download": "contacts:read"}

    def get_queryset(self) -> QuerySet[ExportJob]:
        if getattr(self, "swagger_fake_view", False):
            return ExportJob.all_objects.none()
        return export_visible(access=self.request.auth)

    @extend_schema(request=ExportJobInput,
                   responses={202: ExportJobOutput, 403: OpenApiResponse(
                       Error, description="Your role does not allow this, the account is suspended, or "
                                          "`api_key_channels_export`: an API key limited to channels cannot export "
                                          "(the file is written with its maker's wider access).")},
                   summary="Export contacts to a CSV",
                   description="Queues the export of the contacts you see that match the filters; when `status` is "
                               "`done`, GET .../download gives the file.")
    def create(self, request: Request) -> Response:
        data = ExportJobInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        filters = ContactFilters(text=values.get("q", ""), channel_id=values.get("channel"),
                                 has_phone=values.get("has_phone"), has_email=values.get("has_email"),
                                 created_since=values.get("created_since"),
                                 created_before=values.get("created_before"))
        job = export_job_create(access=request.auth, actor=request.user, filters=filters)
        contacts_export_queue(job.pk)
        return Response(ExportJobOutput(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The CSV file.")},
                   summary="Download an export's CSV (404 until it is done)")
    @action(detail=True, methods=["get"])
    def download(self, request: Request, **kwargs: Any) -> FileResponse:
        job = self.get_object()
        if job.status != ExportJob.Status.DONE or not job.file:
            raise NotFoundError("This export has no file yet.", code="export_not_ready")
        response = FileResponse(job.file.open("rb"), as_attachment=True, filename=f"contacts-{job.public_id}.csv",
                                content_type="text/csv; charset=utf-8")
        response["X-Content-Type-Options"] = "nosniff"
        return response
