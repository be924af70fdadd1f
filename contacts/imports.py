"""Contacts imported from a CSV file: uploaded (its dialect sniffed, its columns guessed), its
columns mapped by a person, then imported in batches by a Celery task (contacts.tasks).

Rows are read with Python's csv module: UTF-8 with or without a byte-order mark, or Windows-1252
(Excel's "CSV" in Portuguese), separated by `,`, `;` or tabs (csv.Sniffer). Each row is a
contact: its phone normalised to E.164 in the tenant's country, its email validated. A row
whose phone or email names a contact that exists (the phone first) updates it, within the file
too, so importing a file twice makes no second contact. Rows that cannot be a contact are
rejected with their line, column and reason; the others are imported all the same.

The job keeps how far it got: a task that stops (a worker restarted) goes on from the last
batch written, and the progress page reads it."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Sequence
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.audit import AuditTarget, audit_record
from accounts.models import AuditAction, User
from config.errors import ValidationFailed
from contacts.events import ContactCreated, ContactUpdated
from contacts.models import Contact, ImportJob
from contacts.phones import InvalidPhone, phone_normalize
from contacts.search import search_fold, search_text_for
from tenants.events import publish_many
from tenants.models import Tenant

# Rows written per transaction (and per step of the progress bar).
IMPORT_BATCH = 500
# Rejected rows kept with their reasons (the counts go on past it).
IMPORT_ERRORS_KEPT = 1000
# What a column can be.
TARGETS = ("name", "phone", "email", "language", "attribute", "ignore")
TARGET_LABELS = {
    "name": gettext_lazy("Name"), "phone": gettext_lazy("Phone"), "email": gettext_lazy("Email"),
    "language": gettext_lazy("Language"), "attribute": gettext_lazy("Custom attribute (column name)"),
    "ignore": gettext_lazy("Ignore"),
}
# Headers people write for each field (folded: lower-case, no accents, letters and digits only).
_HEADER_GUESSES = {
    "name": {"nome", "name", "nomecompleto", "fullname", "cliente", "contato", "contact", "nomedocliente",
             "razaosocial", "firstname"},
    "phone": {"telefone", "fone", "tel", "celular", "cel", "whatsapp", "zap", "phone", "phonenumber", "mobile",
              "telephone", "numero", "telefonecelular", "celularwhatsapp"},
    "email": {"email", "mail", "correioeletronico", "emailaddress", "enderecodeemail"},
    "language": {"idioma", "lingua", "language", "lang", "locale"},
}
ERROR_MESSAGES = {
    "phone_invalid": gettext_lazy("Not a valid phone number."),
    "email_invalid": gettext_lazy("Not a valid email address."),
    "no_address": gettext_lazy("No phone or email: a contact needs one of them."),
    "name_too_long": gettext_lazy("The name is longer than 200 characters."),
    "language_invalid": gettext_lazy("The language is longer than 8 characters."),
    "file_unreadable": gettext_lazy("The file could not be read again: upload it once more."),
}
_CELLS_KEPT = 50
_CELL_CHARS = 200


class ImportRefused(ValidationFailed):
    """A file or a mapping that cannot be imported (the API answers 422: well-formed, refused)."""

    status_code = 422


@dataclasses.dataclass(frozen=True)
class _Row:
    line: int
    name: str
    phone: str
    email: str
    language: str
    attributes: dict[str, str]


def import_max_bytes() -> int:
    return int(settings.CONTACT_IMPORT_MAX_BYTES)


def _decode(raw: bytes) -> tuple[str, str]:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise ImportRefused(_("The file is not text in UTF-8: save it as \"CSV UTF-8\" and try again."),
                        code="import_encoding")


def _sniff(text: str) -> dict[str, Any]:
    sample = text[:64 * 1024]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        found = {"delimiter": dialect.delimiter, "quotechar": dialect.quotechar or '"',
                 "doublequote": dialect.doublequote, "skipinitialspace": dialect.skipinitialspace}
    except csv.Error:  # one column, or too little to tell: the first line's most frequent separator
        first = sample.split("\n", 1)[0]
        delimiter = max(",;\t", key=first.count) if any(sep in first for sep in ",;\t") else ","
        found = {"delimiter": delimiter, "quotechar": '"', "doublequote": True, "skipinitialspace": False}
    return found


def _records(text: str, dialect: dict[str, Any]) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text, newline=""), strict=False, **dialect))
    except csv.Error as error:
        raise ImportRefused(_("The file is not a CSV file that can be read: %(error)s") % {"error": error},
                            code="import_unreadable") from error


def _data_rows(records: list[list[str]]) -> list[tuple[int, list[str]]]:
    """(spreadsheet line, cells) of every row after the header that has something in it."""
    return [(line, cells) for line, cells in enumerate(records[1:], start=2) if any(c.strip() for c in cells)]


def import_column_guess(header: str) -> str:
    """What a column of this header most likely is ("Telefone celular" → phone)."""
    key = re.sub(r"[^a-z0-9]", "", search_fold(header))
    for target, names in _HEADER_GUESSES.items():
        if key in names:
            return target
    return "attribute" if key else "ignore"


def import_mapping_guess(headers: Sequence[str]) -> list[str]:
    """A target for each column, each field taken by its first likely column only."""
    taken: set[str] = set()
    mapping = []
    for header in headers:
        target = import_column_guess(header)
        if target in taken:
            target = "attribute"
        if target not in ("attribute", "ignore"):
            taken.add(target)
        mapping.append(target)
    return mapping


@transaction.atomic
def import_job_create(*, tenant: Tenant, actor: User | None, upload: IO[bytes], file_name: str) -> ImportJob:
    """Keep an uploaded CSV and what its columns look like; its mapping comes next."""
    raw = upload.read(import_max_bytes() + 1)
    if len(raw) > import_max_bytes():
        raise ImportRefused(_("The file is larger than %(size)s: split it in parts.")
                            % {"size": filesizeformat(import_max_bytes())}, code="import_too_large")
    text, encoding = _decode(raw)
    dialect = _sniff(text)
    records = _records(text, dialect)
    headers = [cell.strip() for cell in records[0]] if records else []
    if not any(headers):
        raise ImportRefused(_("The file is empty: its first line should name the columns."), code="import_empty")
    rows = _data_rows(records)
    if not rows:
        raise ImportRefused(_("The file has no rows after its header."), code="import_no_rows")
    job = ImportJob(tenant=tenant, created_by=actor, status=ImportJob.Status.MAPPING, file_name=file_name[:255],
                    dialect={**dialect, "encoding": encoding}, headers=headers,
                    mapping=import_mapping_guess(headers), total_rows=len(rows))
    job.file.save(f"import-{job.public_id}.csv", ContentFile(raw), save=False)
    job.save()
    return job


def import_job_sample(*, job: ImportJob, size: int = 3) -> list[list[str]]:
    """The first rows of the file, to show beside the columns being mapped."""
    return [cells for _line, cells in _job_rows(job)[:size]]


@transaction.atomic
def import_job_map(*, job: ImportJob, actor: User | None, mapping: Sequence[str]) -> ImportJob:
    """Say what each column is; the job is then queued (the caller queues its task)."""
    if job.status != ImportJob.Status.MAPPING:
        raise ImportRefused(_("This import has already started."), code="import_started")
    mapping = list(mapping)
    if len(mapping) != len(job.headers) or any(target not in TARGETS for target in mapping):
        raise ImportRefused(_("Choose what each column is."), code="import_mapping_invalid")
    for target in ("name", "phone", "email", "language"):
        if mapping.count(target) > 1:
            raise ImportRefused(_("Only one column can be the %(field)s.") % {"field": TARGET_LABELS[target]},
                                code="import_mapping_twice", details={"mapping": [target]})
    if "phone" not in mapping and "email" not in mapping:
        raise ImportRefused(_("Choose the column of the phone or of the email: contacts are told apart by them."),
                            code="import_mapping_no_address")
    job.mapping = mapping
    job.status = ImportJob.Status.QUEUED
    job.save(update_fields=["mapping", "status"])
    return job


def import_job_run(*, job_pk: int, batches: int | None = None) -> ImportJob:
    """Import the job's rows from where it got to, a batch per transaction, all of them or
    `batches` batches. A job not queued or running is left as it is (Celery may deliver twice)."""
    job = ImportJob.all_objects.select_related("tenant", "created_by").get(pk=job_pk)
    if job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
        return job
    try:
        rows = _job_rows(job)
    except (OSError, ImportRefused):
        ImportJob.all_objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED, failure="file_unreadable",
                                                       finished_at=timezone.now())
        job.refresh_from_db()
        return job
    ImportJob.all_objects.filter(pk=job.pk, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, total_rows=len(rows))
    done = 0
    while batches is None or done < batches:
        with transaction.atomic():
            # Locked, so that a second delivery of the task waits and then finds the batch done.
            job = (ImportJob.all_objects.select_for_update(of=("self",)).select_related("tenant", "created_by")
                   .get(pk=job.pk))
            if job.status != ImportJob.Status.RUNNING:
                return job
            chunk = rows[job.processed_rows: job.processed_rows + IMPORT_BATCH]
            if chunk:
                _import_batch(job, chunk)
                job.processed_rows += len(chunk)
            if job.processed_rows >= len(rows):
                job.status = ImportJob.Status.DONE
                job.finished_at = timezone.now()
                audit_record(tenant=job.tenant, action=AuditAction.CONTACTS_IMPORTED, actor=job.created_by,
                             target=AuditTarget("contact_import", str(job.public_id), job.file_name),
                             details={"rows": job.total_rows, "created": job.created_count,
                                      "updated": job.updated_count, "unchanged": job.unchanged_count,
                                      "rejected": job.rejected_count})
            job.save()
        done += 1
        if job.finished:
            break
    if job.status == ImportJob.Status.DONE and job.file:
        # The uploaded file is personal data nobody needs any more: the contacts and the
        # rejected rows (job.errors) are what is kept.
        job.file.delete(save=False)
        ImportJob.all_objects.filter(pk=job.pk).update(file="")
    return job


def _job_rows(job: ImportJob) -> list[tuple[int, list[str]]]:
    with job.file.open("rb") as file:
        raw = file.read()
    dialect = dict(job.dialect)
    encoding = dialect.pop("encoding", "utf-8-sig")
    return _data_rows(_records(raw.decode(encoding), dialect))


def _import_batch(job: ImportJob, chunk: Sequence[tuple[int, list[str]]]) -> None:
    tenant = job.tenant
    rows: list[_Row] = []
    for line, cells in chunk:
        row = _row_parse(job, tenant, line, cells)
        if row is not None:
            rows.append(row)
    phones = {row.phone for row in rows if row.phone}
    emails = {row.email for row in rows if row.email}
    by_phone: dict[str, Contact] = {}
    by_email: dict[str, Contact] = {}
    if phones or emails:
        for existing in Contact.all_objects.filter(tenant=tenant).filter(
                Q(phone__in=sorted(phones)) | Q(email__in=sorted(emails))).order_by("pk"):
            if existing.phone:
                by_phone.setdefault(existing.phone, existing)
            if existing.email:
                by_email.setdefault(existing.email, existing)
    new: list[Contact] = []
    changed: dict[int, Contact] = {}
    changed_fields: dict[int, set[str]] = {}
    for row in rows:
        known = (by_phone.get(row.phone) if row.phone else None) or (by_email.get(row.email) if row.email else None)
        if known is None:
            contact = Contact(tenant=tenant, name=row.name, phone=row.phone, email=row.email, language=row.language,
                              attributes=row.attributes, name_set_by_hand=bool(row.name))
            new.append(contact)
            job.created_count += 1
        else:
            contact = known
            # A row repeating one made earlier in this batch adds to that contact, as one known.
            fields = _merge(contact, row)
            if fields and contact._state.adding is False:
                job.updated_count += 1
                changed[contact.pk] = contact
                changed_fields.setdefault(contact.pk, set()).update(fields)
            else:
                job.unchanged_count += 1
        if contact.phone:
            by_phone.setdefault(contact.phone, contact)
        if contact.email:
            by_email.setdefault(contact.email, contact)
    now = timezone.now()
    for contact in [*new, *changed.values()]:
        contact.search_text = search_text_for(name=contact.name, phone=contact.phone, email=contact.email)
        contact.updated_at = now
    Contact.all_objects.bulk_create(new, batch_size=IMPORT_BATCH)
    Contact.all_objects.bulk_update(
        list(changed.values()),
        ["name", "name_set_by_hand", "phone", "email", "language", "attributes", "search_text", "updated_at"],
        batch_size=IMPORT_BATCH)
    # As a contact made or changed one at a time would be: heard live, and by integrators'
    # webhooks (contact.created / contact.updated), in one log INSERT for the batch.
    publish_many([
        *(ContactCreated(tenant_pk=tenant.pk, contact_pk=contact.pk, contact_id=str(contact.public_id))
          for contact in new),
        *(ContactUpdated(tenant_pk=tenant.pk, contact_pk=pk, contact_id=str(contact.public_id),
                         changed=tuple(sorted(changed_fields[pk]))) for pk, contact in changed.items()),
    ])


_MERGED_FIELDS = ("name", "phone", "email", "language", "attributes")


def _merge(contact: Contact, row: _Row) -> set[str]:
    """What the row says, on the contact it names (in memory): a name and a language replace
    the contact's, a phone or an email fills an empty one, attributes are added. The fields it
    changed (none: it changed nothing)."""
    before = (contact.name, contact.phone, contact.email, contact.language, dict(contact.attributes or {}))
    if row.name:
        contact.name, contact.name_set_by_hand = row.name, True
    if row.phone and not contact.phone:
        contact.phone = row.phone
    if row.email and not contact.email:
        contact.email = row.email
    if row.language:
        contact.language = row.language
    if row.attributes:
        contact.attributes = {**(contact.attributes or {}), **row.attributes}
    after = (contact.name, contact.phone, contact.email, contact.language, contact.attributes)
    return {name for name, old, new in zip(_MERGED_FIELDS, before, after, strict=True) if old != new}


def _attribute_key(header: str, index: int) -> str:
    return header.strip()[:64] or f"column_{index + 1}"


def _row_parse(job: ImportJob, tenant: Tenant, line: int, cells: list[str]) -> _Row | None:
    values = {"name": "", "phone": "", "email": "", "language": ""}
    columns: dict[str, str] = {}
    attributes: dict[str, str] = {}
    for index, target in enumerate(job.mapping):
        cell = cells[index].strip() if index < len(cells) else ""
        if target in values:
            values[target] = cell
            columns[target] = job.headers[index]
        elif target == "attribute" and cell:
            attributes[_attribute_key(job.headers[index], index)] = cell[:1000]
    problems: list[tuple[str, str, str]] = []  # (column, code, value)
    if values["phone"]:
        try:
            values["phone"] = phone_normalize(values["phone"], default_region=tenant.default_country)
        except InvalidPhone:
            problems.append((columns["phone"], "phone_invalid", values["phone"]))
    if values["email"]:
        values["email"] = values["email"].lower()
        try:
            validate_email(values["email"])
        except DjangoValidationError:
            problems.append((columns["email"], "email_invalid", values["email"]))
    if len(values["name"]) > 200:
        problems.append((columns["name"], "name_too_long", values["name"][:_CELL_CHARS]))
    if len(values["language"]) > 8:
        problems.append((columns["language"], "language_invalid", values["language"][:_CELL_CHARS]))
    if not problems and not values["phone"] and not values["email"]:
        problems.append(("", "no_address", ""))
    if not problems:
        return _Row(line=line, attributes=attributes, **values)
    job.rejected_count += 1
    for column, code, value in problems:
        if len(job.errors) < IMPORT_ERRORS_KEPT:
            job.errors.append({"line": line, "column": column, "code": code, "value": value[:_CELL_CHARS],
                               "row": [cell[:_CELL_CHARS] for cell in cells[:_CELLS_KEPT]]})
    return None


def import_error_message(code: str) -> str:
    """A rejected row's reason (or a failed job's), in the reader's language."""
    return str(ERROR_MESSAGES.get(code, code))


def import_rejected_rows(*, job: ImportJob) -> list[list[str]]:
    """The rejected rows as they were, each with its line and reasons: a CSV to fix and import again."""
    by_line: dict[int, list[str]] = {}
    for error in job.errors:
        by_line.setdefault(error["line"], list(error.get("row") or []))
    reasons: dict[int, list[str]] = {}
    for error in job.errors:
        column = f"{error['column']}: " if error.get("column") else ""
        reasons.setdefault(error["line"], []).append(column + import_error_message(error["code"]))
    width = len(job.headers)
    return [[str(line), "; ".join(reasons[line]), *(cells + [""] * (width - len(cells)))[:max(width, len(cells))]]
            for line, cells in by_line.items()]
