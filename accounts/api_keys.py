"""Tenant API keys: made and revoked by the tenant's administrators, used by integrators'
systems as `Authorization: Bearer <key>` or `X-API-Key: <key>` (accounts.authentication).

A key is `ik_live_` + 8 characters (its prefix: how it is found, and what lists show) + 40
random characters (238 bits): only its prefix and a SHA-256 of the whole key are stored, and
the digests are compared in constant time. SHA-256 rather than a slow password hash: the key
is random, not a person's password, so there is nothing to guess a dictionary against, and
every API request checks one.

A key acts as the administrator who made it (who its messages and changes are attributed to)
while they still administer the tenant: an administrator who leaves, is deactivated or loses
the role takes their keys' access with them (`api_key_creator_inactive`), as a key never
outlives its maker's right to make it."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import string
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import API_KEY_ROLE, TenantAccess
from accounts.audit import AuditTarget, audit_record
from accounts.events import ApiKeyRevoked
from accounts.models import ApiKey, AuditAction, Membership, Role, User
from accounts.roles import role_has_permission
from config.errors import ApplicationError, ConflictError, PermissionDeniedError, ValidationFailed
from tenants.events import publish
from tenants.models import Tenant

KEY_PREFIX = "ik_live_"
_LOOKUP_LENGTH = 8
_SECRET_LENGTH = 40
_ALPHABET = string.ascii_letters + string.digits
# The expiries the settings page offers, in days (None: never).
EXPIRY_CHOICES_DAYS = (None, 30, 90, 365)
EXPIRY_MAX_DAYS = 3650
NAME_MAX = 100
# last_used_at is written at most this often per key: a busy key costs no write per request.
LAST_USED_EVERY = dt.timedelta(minutes=1)
MANAGE_PERMISSION = "api_keys:write"


class ApiKeyRefused(ApplicationError):
    """A key that does not authenticate: unknown, revoked, expired, or its maker's access gone."""

    status_code = 401


# The codes of ApiKeyRefused (401), with what each means to an integrator: the OpenAPI schema
# lists them (accounts.schema).
REFUSAL_CODES = {
    "api_key_invalid": "unknown or malformed",
    "api_key_revoked": "revoked by an administrator",
    "api_key_expired": "past its `expires_at` (`details.expired_at`)",
    "api_key_creator_inactive": "the administrator who made it no longer administers the account: make a new key",
}


@dataclass(frozen=True)
class ApiKeyCreated:
    """A key just made, and the key itself: the one moment it is known."""

    api_key: ApiKey
    key: str


def api_key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def is_api_key(raw: str) -> bool:
    """Whether a bearer credential is an API key (a JWT starts with `eyJ`)."""
    return raw.startswith(KEY_PREFIX)


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def api_key_list(*, tenant: Tenant) -> list[ApiKey]:
    return list(ApiKey.all_objects.filter(tenant=tenant).select_related("created_by").order_by("-created_at", "-id"))


def api_key_get(*, tenant: Tenant, public_id: uuid.UUID) -> ApiKey | None:
    return ApiKey.all_objects.filter(tenant=tenant, public_id=public_id).select_related("created_by").first()


@transaction.atomic
def api_key_create(*, tenant: Tenant, actor: User, name: str, scope: str, channel_ids: Sequence[uuid.UUID | str] = (),
                   expires_in_days: int | None = None) -> ApiKeyCreated:
    """Make a key (the caller checked the channels are the tenant's). The key is returned once
    and never stored."""
    name = name.strip()
    errors: dict[str, list[str]] = {}
    if not name or len(name) > NAME_MAX:
        errors["name"] = [_("Give the key a name of up to %(max)d characters.") % {"max": NAME_MAX}]
    if scope not in ApiKey.Scope.values:
        errors["scope"] = [_("Choose read or read and write.")]
    if expires_in_days is not None and not 1 <= expires_in_days <= EXPIRY_MAX_DAYS:
        errors["expires_in_days"] = [_("An expiry between 1 and %(max)d days.") % {"max": EXPIRY_MAX_DAYS}]
    if errors:
        raise ValidationFailed(_("Check the API key: %(errors)s") % {
            "errors": " ".join(message for messages in errors.values() for message in messages)}, details=errors)
    lookup = _random(_LOOKUP_LENGTH)
    key = f"{KEY_PREFIX}{lookup}{_random(_SECRET_LENGTH)}"
    now = timezone.now()
    api_key = ApiKey.all_objects.create(
        tenant=tenant, name=name, prefix=f"{KEY_PREFIX}{lookup}", key_digest=api_key_digest(key), scope=scope,
        channel_ids=sorted({str(channel_id) for channel_id in channel_ids}), created_by=actor, created_at=now,
        expires_at=now + dt.timedelta(days=expires_in_days) if expires_in_days else None,
    )
    audit_record(tenant=tenant, action=AuditAction.API_KEY_CREATED, actor=actor, target=_target(api_key),
                 details={"scope": scope, "channel_ids": api_key.channel_ids,
                          "expires_at": api_key.expires_at.isoformat() if api_key.expires_at else None})
    return ApiKeyCreated(api_key=api_key, key=key)


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: User) -> ApiKey:
    """Revoke a key: the next request with it is refused (401 `api_key_revoked`), and the live
    sockets it opened close."""
    locked = ApiKey.all_objects.select_for_update().get(pk=api_key.pk)
    if locked.revoked_at is not None:
        raise ConflictError(_("This API key was already revoked."), code="api_key_revoked")
    locked.revoked_at, locked.revoked_by = timezone.now(), actor
    locked.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(tenant=locked.tenant_id, action=AuditAction.API_KEY_REVOKED, actor=actor, target=_target(locked))
    publish(ApiKeyRevoked(tenant_pk=locked.tenant_id, api_key_id=str(locked.public_id)))
    api_key.revoked_at, api_key.revoked_by = locked.revoked_at, actor
    return api_key


def api_key_require_manager(*, access: TenantAccess) -> None:
    """Keys are managed by the tenant's administrators in person (a session or a JWT), never
    by another key."""
    if access.api_key is not None or not access.has(MANAGE_PERMISSION):
        raise PermissionDeniedError(_("Only the account's administrators manage its API keys."))


def api_key_authenticate(*, key: str) -> TenantAccess:
    """The access a presented key grants (one query), or ApiKeyRefused saying why not. A key
    in use records when it was last used, at most once a minute."""
    refused = ApiKeyRefused(_("This API key is not valid."), code="api_key_invalid")
    if not is_api_key(key) or len(key) != len(KEY_PREFIX) + _LOOKUP_LENGTH + _SECRET_LENGTH:
        raise refused
    api_key = _with_creator_role().filter(prefix=key[: len(KEY_PREFIX) + _LOOKUP_LENGTH]).first()
    if api_key is None or not hmac.compare_digest(api_key.key_digest, api_key_digest(key)):
        raise refused
    return _access_granted(api_key)


def api_key_access_current(*, api_key_pk: int) -> TenantAccess:
    """api_key_authenticate again for a key that authenticated before (a live socket's, which
    re-checks it now and then): its access now (one query), or ApiKeyRefused saying why not."""
    api_key = _with_creator_role().filter(pk=api_key_pk).first()
    if api_key is None:
        raise ApiKeyRefused(_("This API key is not valid."), code="api_key_invalid")
    return _access_granted(api_key)


def _with_creator_role() -> QuerySet[ApiKey]:
    creator_role = Membership.all_objects.filter(
        tenant_id=OuterRef("tenant_id"), user_id=OuterRef("created_by_id"), is_active=True, user__is_active=True,
    ).values("role")[:1]
    return ApiKey.all_objects.select_related("tenant", "created_by").annotate(creator_role=Subquery(creator_role))


def _access_granted(api_key: ApiKey) -> TenantAccess:
    if api_key.revoked_at is not None:
        raise ApiKeyRefused(_("This API key was revoked."), code="api_key_revoked")
    now = timezone.now()
    if api_key.expires_at is not None and api_key.expires_at <= now:
        raise ApiKeyRefused(_("This API key expired."), code="api_key_expired",
                            details={"expired_at": api_key.expires_at.isoformat()})
    creator = api_key.created_by
    role = Role.SUPER_ADMIN if creator is not None and creator.is_superuser and creator.is_active else \
        api_key.creator_role  # type: ignore[attr-defined]
    if creator is None or role is None or not role_has_permission(role, MANAGE_PERMISSION):
        raise ApiKeyRefused(_("The administrator who made this API key no longer administers the account: "
                              "make a new key."), code="api_key_creator_inactive")
    if api_key.last_used_at is None or api_key.last_used_at <= now - LAST_USED_EVERY:
        ApiKey.all_objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return TenantAccess(user=creator, tenant=api_key.tenant, role=API_KEY_ROLE, api_key=api_key)


def _target(api_key: ApiKey) -> AuditTarget:
    return AuditTarget(type="api_key", id=str(api_key.public_id), label=f"{api_key.name} ({api_key.prefix})")
