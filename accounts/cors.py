"""The tenant's own CORS origins (tenants.cors): the browser origins its administrators allow
to call the API with the tenant's keys and tokens."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.audit import AuditTarget, audit_record
from accounts.models import AuditAction, User
from config.errors import ValidationFailed
from tenants.cors import SETTINGS_KEY, origin_normalise, tenant_cors_origins, tenants_cors_origins_forget
from tenants.models import Tenant

CORS_ORIGINS_MAX = 20


def cors_origins_parse(text: str) -> list[str]:
    """Origins written one a line (or separated by commas or spaces)."""
    return [part for part in text.replace(",", " ").split() if part]


@transaction.atomic
def tenant_cors_origins_set(*, tenant: Tenant, actor: User, origins: Iterable[str]) -> list[str]:
    """Set the origins exactly (normalised, without duplicates); audited when they change."""
    wanted = list(origins)
    bad = [origin for origin in wanted if origin_normalise(origin) is None]
    if bad:
        raise ValidationFailed(
            _("Not an origin: %(origins)s. Write each as https://host or https://host:port, without a path.")
            % {"origins": ", ".join(bad[:5])[:300]}, details={"cors_origins": [_("Not an origin.")]})
    normalised = sorted({origin_normalise(origin) or "" for origin in wanted})
    if len(normalised) > CORS_ORIGINS_MAX:
        raise ValidationFailed(_("At most %(max)d origins.") % {"max": CORS_ORIGINS_MAX},
                               details={"cors_origins": [_("Too many origins.")]})
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    before = tenant_cors_origins(locked)
    if before != normalised:
        locked.settings = {**(locked.settings or {}), SETTINGS_KEY: normalised}
        locked.save(update_fields=["settings", "updated_at"])
        tenant.settings = locked.settings
        audit_record(tenant=tenant, action=AuditAction.SETTINGS_CHANGED, actor=actor,
                     target=AuditTarget("tenant", str(tenant.public_id), tenant.name),
                     details={"cors_origins": {"from": before, "to": normalised}})
        transaction.on_commit(tenants_cors_origins_forget)
    return normalised
