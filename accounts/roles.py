"""What each role may do. Permissions are `<area>:<action>`; `<area>:*` grants every action
of an area and `*` everything. The seed's permission for one messaging provider is
generalised to every channel (`channels:*`) and to the conversations they carry
(`conversations:*`)."""

from __future__ import annotations

from accounts.models import Role

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.SUPER_ADMIN: frozenset({"*"}),
    Role.TENANT_ADMIN: frozenset(
        {"tenant:*", "users:*", "channels:*", "conversations:*", "contacts:*", "billing:read", "analytics:read",
         "audit:read", "teams:write", "labels:write", "canned:write", "api_keys:write", "webhooks:read",
         "webhooks:write", "alerts:read", "alerts:write", "notices:read",
         # what a message its sender deleted for everyone said (managers and agents see it deleted)
         "messages:read_deleted"}
    ),
    # Managers see the alert rules and their incidents (they see channels down already); admins change them.
    Role.MANAGER: frozenset({"users:read", "channels:*", "conversations:*", "contacts:*", "analytics:read",
                             "teams:write", "labels:write", "canned:write", "alerts:read", "notices:read"}),
    Role.AGENT: frozenset(
        {"channels:read", "conversations:read", "conversations:write", "conversations:send", "contacts:read",
         "contacts:write", "notices:read"}
    ),
    Role.VIEWER: frozenset({"channels:read", "conversations:read", "contacts:read", "analytics:read", "notices:read"}),
}

# What an API key of each scope may do (accounts.models.ApiKey.Scope). A key reads what a viewer
# reads, on every channel unless it names some; a read-write key also does what an agent does
# with conversations and contacts (answer, assign, resolve, create and edit contacts). No key
# ever manages members, the tenant's settings, channels' connections, the audit log or keys.
API_KEY_SCOPE_PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset({"channels:read", "conversations:read", "contacts:read", "analytics:read"}),
    "read_write": frozenset({"channels:read", "conversations:read", "contacts:read", "analytics:read",
                             "conversations:write", "conversations:send", "contacts:write"}),
}

# Roles that see every channel of their tenant; the others only the channels they were given.
ROLES_SEEING_ALL_CHANNELS = frozenset({Role.SUPER_ADMIN, Role.TENANT_ADMIN, Role.MANAGER})
# Roles that occupy an agent seat of the plan.
ROLES_USING_A_SEAT = frozenset({Role.TENANT_ADMIN, Role.MANAGER, Role.AGENT})


def role_has_permission(role: str, permission: str) -> bool:
    return permissions_grant(ROLE_PERMISSIONS.get(role, frozenset()), permission)


def api_key_scope_has_permission(scope: str, permission: str) -> bool:
    return permissions_grant(API_KEY_SCOPE_PERMISSIONS.get(scope, frozenset()), permission)


def permissions_grant(granted: frozenset[str], permission: str) -> bool:
    area = permission.split(":", 1)[0]
    return "*" in granted or permission in granted or f"{area}:*" in granted
