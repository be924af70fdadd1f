"""WebSockets: /ws/inbox for agents' browsers (session), /ws/v1/events for integrators (a JWT
or an API key).

Both deliver the tenant's domain events that their member may see, and take two
messages: {"type": "resume", "after": "<event id>"} replays what was missed (after null: the
whole log, when it is short), and {"type": "typing", "conversation_id": "<conversation id>"}
tells the other agents someone is replying. They also send {"type": "presence",
"conversation_id", "state": "typing" | "recording" | "idle"} when the contact is typing or
recording a voice note (never logged, never replayed). Every id a client sends or gets is a public id."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import HASH_SESSION_KEY
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from accounts.access import TenantAccess, tenant_access_resolve, tenant_access_resolve_public, token_ids
from accounts.api_keys import ApiKeyRefused, api_key_access_current, api_key_authenticate, is_api_key
from accounts.authentication import SESSION_TENANT_KEY
from accounts.login_sessions import login_session_exists
from accounts.models import Membership, User
from accounts.sessions import session_two_factor_missing
from accounts.tokens import token_refusal
from accounts.two_factor import token_two_factor_missing
from config.ids import uuid_or_none
from config.metrics import websocket_closed, websocket_opened
from conversations import realtime

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
AUTH_TIMEOUT_SECONDS = 10
# The channel layer drops a group's members a group_expiry after they joined (channels_redis:
# a day by default) unless they join again: an open socket renews its membership this often, or
# a quarter of the expiry if that is shorter. Every few minutes also puts a socket back in its
# group soon after Redis lost its groups (a restart without persistence).
GROUP_RENEW_SECONDS = 300.0

logger = logging.getLogger(__name__)


# Channel-layer messages that this consumer forwards. Every database access here goes
# through database_sync_to_async, which closes stale connections itself, so the close that
# Channels' dispatch runs before every message (a hop to a thread and back) is skipped for
# these: each socket receives every event of its tenant.
_FORWARDED = frozenset({"inbox.event", "inbox.events", "inbox.typing", "inbox.presence"})


class _EventsConsumer(AsyncJsonWebsocketConsumer):
    access: TenantAccess | None = None
    visible: frozenset[int] = frozenset()
    _renewal: asyncio.Task[None] | None = None
    endpoint = ""  # the metric's label (config.metrics' inbox_websocket_connections)
    _counted = False

    async def dispatch(self, message: dict[str, Any]) -> None:
        if message.get("type") in _FORWARDED:
            await getattr(self, get_handler_name(message))(message)
        else:
            await super().dispatch(message)

    async def start(self, access: TenantAccess) -> None:
        self.access = access
        self.visible = await database_sync_to_async(realtime.visible_channel_ids)(access=access)
        group = realtime.tenant_group(access.tenant_id)
        await self.channel_layer.group_add(group, self.channel_name)
        self._renewal = asyncio.create_task(self._keep_membership(group))
        if not self._counted:
            self._counted = True
            websocket_opened(self.endpoint)
        ready = {"type": "ready", "tenant": access.tenant.slug, "role": access.role,
                 "user": {"id": str(access.user.public_id), "name": access.user.get_full_name()}}
        if access.api_key is not None:
            ready["api_key"] = {"id": str(access.api_key.public_id), "scope": access.api_key.scope,
                                "channel_ids": access.key_channel_ids or []}
        await self.send_json(ready)

    async def disconnect(self, code: int) -> None:
        if self._counted:
            self._counted = False
            websocket_closed(self.endpoint)
        if self._renewal is not None:
            self._renewal.cancel()
        if self.access is not None:
            await self.channel_layer.group_discard(realtime.tenant_group(self.access.tenant_id), self.channel_name)

    async def _keep_membership(self, group: str) -> None:
        """Renews the socket's place in its group, and checks that what opened it still holds
        (a revoked token, a new password, a deactivated user close it within one round)."""
        every = min(GROUP_RENEW_SECONDS, getattr(self.channel_layer, "group_expiry", 86_400) / 4)
        while True:
            # spread over the sockets of a process, which mostly opened together (a deploy)
            await asyncio.sleep(every * random.uniform(0.8, 1.0))
            try:
                if not await database_sync_to_async(self._still_authenticated)():
                    await self.close(code=CLOSE_UNAUTHENTICATED)
                    return
                await self.channel_layer.group_add(group, self.channel_name)
            except Exception:  # Redis or the database away for a moment: the next round tries again
                logger.warning("Could not renew a socket's group membership", exc_info=True)

    def _still_authenticated(self) -> bool:
        """Whether what opened the socket still holds (each consumer says: a session, a token)."""
        raise NotImplementedError

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self.access is None or not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "resume":
            await self._resume(content.get("after"))
        elif kind == "typing":
            await self._typing(content.get("conversation_id"))

    async def _resume(self, after: Any) -> None:
        anchor = uuid_or_none(after)
        if after is not None and anchor is None:  # not an event id (an integer of an older client...)
            await self.send_json({"type": "resync"})
            return
        frames = await database_sync_to_async(realtime.events_after)(access=self.access, after=anchor)
        if frames is None:
            await self.send_json({"type": "resync"})
            return
        for frame in frames:
            await self.send_json(frame)
        await self.send_json({"type": "resumed", "last": frames[-1]["id"] if frames else after})

    async def _typing(self, conversation_id: Any) -> None:
        conversation = uuid_or_none(conversation_id)
        if conversation is None or self.access is None or not self.access.has("conversations:send"):
            return
        channel_pk = await database_sync_to_async(realtime.conversation_channel_pk)(
            access=self.access, conversation_id=conversation
        )
        if channel_pk is not None:
            await database_sync_to_async(realtime.broadcast_typing)(
                access=self.access, conversation_id=conversation, channel_pk=channel_pk, sender=self.channel_name
            )

    # --- from the channel layer -------------------------------------------------

    async def inbox_event(self, message: dict[str, Any]) -> None:
        frame = message["frame"]
        if frame["name"] in realtime.ACCESS_EVENTS and self._concerned_by(frame):
            refusal = await self._access_refusal()
            if refusal is not None:
                await self.close(code=refusal)
                return
            self.visible = await database_sync_to_async(realtime.visible_channel_ids)(access=self.access)
        if frame["name"] in realtime.INTERNAL_EVENTS:
            return
        # (a process of the version before public ids, during a deploy, names it channel_id)
        channel_pk = message.get("channel_pk", message.get("channel_id"))
        if channel_pk is None or channel_pk in self.visible:
            await self.send_json(frame)

    async def inbox_events(self, message: dict[str, Any]) -> None:
        for item in message["items"]:
            await self.inbox_event(item)

    async def inbox_typing(self, message: dict[str, Any]) -> None:
        if message.get("channel_pk") not in self.visible:
            return
        # Not one's own typing: a key acts as its maker, whose own typing in the inbox it hears.
        own = message.get("sender") == self.channel_name if self.access.api_key is not None \
            else message.get("user_pk") == self.access.user.pk
        if not own:
            await self.send_json(message["frame"])

    async def inbox_presence(self, message: dict[str, Any]) -> None:
        if message.get("channel_pk") in self.visible:
            await self.send_json(message["frame"])

    async def inbox_notice(self, message: dict[str, Any]) -> None:
        """A member's notice reaches their browsers only (an integrator's socket hears none)."""
        if self.endpoint == "inbox" and message.get("user_pk") == self.access.user.pk:
            await self.send_json(message["frame"])

    def _concerned_by(self, frame: dict[str, Any]) -> bool:
        """Whether an access event may change this socket's access (a key's revocation changes
        the sockets of that key only)."""
        key = self.access.api_key if self.access is not None else None
        if frame["name"] == "api_key.revoked":
            return key is not None and frame["data"].get("api_key_id") == str(key.public_id)
        if frame["name"] == "user.logins_ended":  # a person's logins, not the keys they made
            return key is None and frame["data"].get("user_id") == str(self.access.user.public_id)
        return True

    async def _access_refusal(self) -> int | None:
        """After an access event: None if the socket's member may still see what it sees (its
        access is re-read), or the code to close it with."""
        current = await database_sync_to_async(tenant_access_resolve)(
            user_id=self.access.user.pk, tenant_id=self.access.tenant_id
        )
        if current is None or current.role != self.access.role:
            return CLOSE_FORBIDDEN
        if not current.tenant.is_operational and current.role != "SUPER_ADMIN":
            return CLOSE_FORBIDDEN  # the tenant was suspended
        if self._two_factor_missing(current):
            return CLOSE_FORBIDDEN  # the tenant now requires two-factor login, and this socket's login gave no code
        self.access = current
        return None

    def _two_factor_missing(self, access: TenantAccess) -> bool:
        """Whether the tenant requires two-factor login and what opened the socket gave no code
        (each consumer says: a session, a token)."""
        raise NotImplementedError


class InboxConsumer(_EventsConsumer):
    """An agent's browser, authenticated by the inbox session."""

    endpoint = "inbox"

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        access = await database_sync_to_async(self._session_access)(user)
        if access is None or not access.tenant.is_operational:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.accept()
        await self.start(access)

    def _still_authenticated(self) -> bool:
        """The user is active and the session is still theirs (a new password ends the others) and
        still there (turning two-factor login on deletes the others)."""
        user = User.objects.filter(pk=self.access.user.pk, is_active=True).first() if self.access else None
        return user is not None and constant_time_compare(
            self.scope["session"].get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()
        ) and login_session_exists(self.scope["session"])

    async def _access_refusal(self) -> int | None:
        if not await database_sync_to_async(login_session_exists)(self.scope["session"]):
            return CLOSE_UNAUTHENTICATED  # the session was ended (its user turned two-factor login on elsewhere)
        return await super()._access_refusal()

    def _two_factor_missing(self, access: TenantAccess) -> bool:
        return session_two_factor_missing(session=self.scope["session"], access=access)

    def _session_access(self, user: Any) -> TenantAccess | None:
        tenant_id = self.scope["session"].get(SESSION_TENANT_KEY)
        if tenant_id is None:
            tenant_ids = list(Membership.all_objects.filter(user=user, is_active=True).values_list("tenant_id", flat=True)[:2])
            tenant_id = tenant_ids[0] if len(tenant_ids) == 1 else None
        access = tenant_access_resolve(user_id=user.pk, tenant_id=tenant_id) if tenant_id else None
        if access is not None and session_two_factor_missing(session=self.scope["session"], access=access):
            return None  # the tenant requires two-factor login, and this session has not given a code
        return access


class IntegratorConsumer(_EventsConsumer):
    """An integrator's client. Its first message must be {"type": "auth", "token": <access
    JWT or API key>} (so the credential never appears in a URL or an access log).

    A key's socket sees what the key sees (its channels, if it is limited to some) and follows
    the key: it closes (4401) when the key is revoked (ApiKeyRevoked), when it expires, and when
    its maker no longer administers the account (their access events, or the next renewal)."""

    endpoint = "events"
    _token: AccessToken | None = None
    _expiry: asyncio.TimerHandle | None = None

    async def connect(self) -> None:
        await self.accept()
        self._auth_timeout = asyncio.get_running_loop().call_later(
            AUTH_TIMEOUT_SECONDS, lambda: asyncio.ensure_future(self._close_unauthenticated())
        )

    async def _close_unauthenticated(self) -> None:
        if self.access is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)

    async def disconnect(self, code: int) -> None:
        self._auth_timeout.cancel()
        if self._expiry is not None:
            self._expiry.cancel()
        await super().disconnect(code)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self.access is not None:
            await super().receive_json(content, **kwargs)
            return
        if not isinstance(content, dict) or content.get("type") != "auth":
            await self.send_json({"type": "error", "code": "not_authenticated", "message": "Send auth first."})
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if isinstance(content.get("token"), str) and is_api_key(content["token"]):
            await self._authenticate_api_key(content["token"])
            return
        access, self._token = await database_sync_to_async(self._token_access)(content.get("token"))
        if access is None:
            await self.send_json({"type": "error", "code": "token_not_valid",
                                  "message": "The token is invalid, expired or stale."})
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self._auth_timeout.cancel()
        await self.start(access)

    async def _authenticate_api_key(self, key: str) -> None:
        try:
            access = await database_sync_to_async(api_key_authenticate)(key=key)
        except ApiKeyRefused as refused:
            await self.send_json({"type": "error", "code": refused.code, "message": refused.message})
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not access.tenant.is_operational:
            await self.send_json({"type": "error", "code": "tenant_suspended",
                                  "message": "The account is paused: its API is stopped."})
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self._auth_timeout.cancel()
        if access.api_key is not None and access.api_key.expires_at is not None:
            seconds = (access.api_key.expires_at - timezone.now()).total_seconds()
            self._expiry = asyncio.get_running_loop().call_later(
                max(seconds, 0.0), lambda: asyncio.ensure_future(self.close(code=CLOSE_UNAUTHENTICATED)))
        await self.start(access)

    @staticmethod
    def _token_access(raw: Any) -> tuple[TenantAccess | None, AccessToken | None]:
        if not isinstance(raw, str):
            return None, None
        try:
            token = AccessToken(raw)
        except TokenError:
            return None, None
        ids = token_ids(token)
        access = tenant_access_resolve_public(user_id=ids[0], tenant_id=ids[1]) if ids else None
        if access is None or access.role != token.get("role") or not access.tenant.is_operational:
            return None, None
        if token_two_factor_missing(token=token, tenant=access.tenant):
            return None, None
        return (access, token) if token_refusal(token, access.user) is None else (None, None)

    def _still_authenticated(self) -> bool:
        """The token that opened the socket would still be honoured, its expiry apart: not
        revoked, issued under the current password, of a user who is active. A key: it still
        authenticates (which records its use, at most once a minute)."""
        if self.access is not None and self.access.api_key is not None:
            return self._api_key_refusal() is None
        user = User.objects.filter(pk=self.access.user.pk, is_active=True).first() if self.access else None
        return user is not None and self._token is not None and token_refusal(self._token, user) is None

    def _two_factor_missing(self, access: TenantAccess) -> bool:
        return self._token is None or token_two_factor_missing(token=self._token, tenant=access.tenant)

    async def _access_refusal(self) -> int | None:
        if self.access is None or self.access.api_key is None:
            refusal = await super()._access_refusal()
            if refusal is None and await database_sync_to_async(self._token_refused)():
                return CLOSE_UNAUTHENTICATED  # e.g. its user's other logins were ended
            return refusal
        return await database_sync_to_async(self._api_key_refusal)()

    def _token_refused(self) -> bool:
        return self._token is None or self.access is None or token_refusal(self._token, self.access.user) is not None

    def _api_key_refusal(self) -> int | None:
        """For a key's socket: None if the key still authenticates in an operational account
        (its access is re-read), or the code to close it with. Keys are not logins: the
        account's two-factor requirement is not theirs."""
        assert self.access is not None and self.access.api_key is not None
        try:
            current = api_key_access_current(api_key_pk=self.access.api_key.pk)
        except ApiKeyRefused:
            return CLOSE_UNAUTHENTICATED
        if not current.tenant.is_operational:
            return CLOSE_FORBIDDEN
        self.access = current
        return None
