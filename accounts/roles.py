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
         "audit:read", "teams:write", "labels:write", "canned:write", "webhooks:read", "webhooks:write",
         # what a message its sender deleted for everyone said (managers and agents see it deleted)
         "messages:read_deleted"}
    ),
    Role.MANAGER: frozenset({"users:read", "channels:*", "conversations:*", "contacts:*", "analytics:read",
                             "teams:write", "labels:write", "canned:write"}),
    Role.AGENT: frozenset(
        {"channels:read", "conversations:read", "conversations:write", "conversations:send", "contacts:read",
         "contacts:write"}
    ),
    Role.VIEWER: frozenset({"channels:read", "conversations:read", "contacts:read", "analytics:read"}),
}

# Roles that see every channel of their tenant; the others only the channels they were given.
ROLES_SEEING_ALL_CHANNELS = frozenset({Role.SUPER_ADMIN, Role.TENANT_ADMIN, Role.MANAGER})
# Roles that occupy an agent seat of the plan.
ROLES_USING_A_SEAT = frozenset({Role.TENANT_ADMIN, Role.MANAGER, Role.AGENT})


def role_has_permission(role: str, permission: str) -> bool:
    granted = ROLE_PERMISSIONS.get(role, frozenset())
    area = permission.split(":", 1)[0]
    return "*" in granted or permission in granted or f"{area}:*" in granted
