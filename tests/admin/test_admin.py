"""Django admin, the platform staff's view over every tenant."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth.models import Group
from django.contrib.messages.storage.fallback import FallbackStorage
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from guardian.shortcuts import assign_perm

from accounts.models import Invitation, Membership, Role, User
from channels_app.models import Channel, ChannelGroupObjectPermission, ChannelUserObjectPermission
from channels_app.services import channel_access_grant
from contacts.models import Contact, ContactIdentity
from conversations.models import Attachment, CannedResponse, Conversation, Label, Message, Team
from tenants.models import Tenant, TenantEvent
from tests import factories

pytestmark = pytest.mark.django_db

CLEAR_SECRET = "sk_test_0123456789abcdef"
MASKED_SECRET = "••••cdef"


@pytest.fixture
def staff() -> User:
    return User.objects.create_superuser("staff@example.test", "staff-pass-2026")


@pytest.fixture
def admin_client(staff: User) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def rows(acme: Tenant, member: Any) -> dict[str, Any]:
    """One row of every model the admin shows, all in acme."""
    channel = factories.ChannelFactory(tenant=acme, name="WhatsApp Vendas", kind="api")
    agent = member(acme, Role.AGENT, channels=(channel,), full_name="Ana Agente")
    group = Group.objects.create(name="night shift")
    assign_perm("channels_app.work_channel", group, channel)
    contact = factories.ContactFactory(tenant=acme, name="Maria Cliente")
    identity = factories.ContactIdentityFactory(contact=contact, channel=channel, external_id="5511999990000")
    team = factories.TeamFactory(tenant=acme, name="Suporte")
    team.members.add(agent.user)
    label = factories.LabelFactory(tenant=acme, name="vip")
    canned = factories.CannedResponseFactory(tenant=acme, short_code="ola")
    conversation = factories.ConversationFactory(tenant=acme, channel=channel, contact=contact, assignee=agent.user,
                                                 team=team, last_message_preview="Oi, preciso de ajuda")
    conversation.labels.add(label)
    message = factories.MessageFactory(conversation=conversation, content="Oi, preciso de ajuda",
                                       provider_message_id="wamid.1")
    attachment = Attachment.all_objects.create(tenant=acme, message=message, file_name="nota.pdf",
                                               content_type="application/pdf", external_url="https://x.test/a.pdf")
    event = TenantEvent.all_objects.create(tenant=acme, name="message.created", channel_id=channel.pk,
                                           conversation_id=conversation.pk)
    invitation = Invitation.all_objects.create(tenant=acme, email="ana.nova@acme.test", role=Role.AGENT,
                                               token_digest="0" * 64, expires_at=timezone.now())
    return {
        Invitation: invitation, Tenant: acme, TenantEvent: event, User: agent.user, Membership: agent, Channel: channel,
        ChannelUserObjectPermission: ChannelUserObjectPermission.objects.get(content_object=channel,
                                                                            user=agent.user),
        ChannelGroupObjectPermission: ChannelGroupObjectPermission.objects.get(content_object=channel),
        Contact: contact, ContactIdentity: identity, Team: team, Label: label, CannedResponse: canned,
        Conversation: conversation, Message: message, Attachment: attachment,
    }


# model → (a search term that finds the row, a filter of its changelist)
ADMIN_PAGES: dict[type, tuple[str, str]] = {
    Tenant: ("acme", "status__exact=ACTIVE"),
    TenantEvent: ("message.created", "tenant__id__exact={tenant}"),
    User: ("ana", "is_staff__exact=0"),
    Membership: ("ana", "role__exact=AGENT"),
    Invitation: ("ana.nova", "role__exact=AGENT"),
    Channel: ("vendas", "kind__exact=api"),
    ChannelUserObjectPermission: ("vendas", "content_object__tenant__id__exact={tenant}"),
    ChannelGroupObjectPermission: ("night", ""),
    Contact: ("maria", "tenant__id__exact={tenant}"),
    ContactIdentity: ("5511999990000", "channel__kind__exact=api"),
    Team: ("suporte", "tenant__id__exact={tenant}"),
    Label: ("vip", "tenant__id__exact={tenant}"),
    CannedResponse: ("ola", "tenant__id__exact={tenant}"),
    Conversation: ("maria", "status__exact=OPEN"),
    Message: ("ajuda", "direction__exact=INBOUND"),
    Attachment: ("nota", "tenant__id__exact={tenant}"),
}


def _url(model: type, view: str, *args: Any) -> str:
    from django.urls import reverse

    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_model_is_registered() -> None:
    for model in ADMIN_PAGES:
        assert site.is_registered(model), model


@pytest.mark.parametrize("model", ADMIN_PAGES, ids=lambda model: model.__name__)
def test_changelist_renders_with_search_and_filter(admin_client: Client, rows: dict[type, Any], model: type) -> None:
    search, row_filter = ADMIN_PAGES[model]
    row = rows[model]

    plain = admin_client.get(_url(model, "changelist"))
    searched = admin_client.get(_url(model, "changelist"), {"q": search})
    filtered = admin_client.get(_url(model, "changelist") + "?" + row_filter.format(tenant=rows[Tenant].pk))

    assert plain.status_code == searched.status_code == filtered.status_code == 200
    change_url = _url(model, "change", row.pk)
    assert change_url in plain.content.decode()
    assert change_url in searched.content.decode()
    assert change_url in filtered.content.decode()


@pytest.mark.parametrize("model", [Conversation, Message, Contact, Channel], ids=lambda model: model.__name__)
def test_staff_find_a_row_by_the_id_agents_and_integrators_see(admin_client: Client, rows: dict[type, Any],
                                                                model: type) -> None:
    row = rows[model]

    found = admin_client.get(_url(model, "changelist"), {"q": str(row.public_id)})
    not_an_id = admin_client.get(_url(model, "changelist"), {"q": "0190e0e5-not-a-uuid"})

    assert found.status_code == not_an_id.status_code == 200
    assert _url(model, "change", row.pk) in found.content.decode()


@pytest.mark.parametrize("model", ADMIN_PAGES, ids=lambda model: model.__name__)
def test_change_page_renders(admin_client: Client, rows: dict[type, Any], model: type) -> None:
    response = admin_client.get(_url(model, "change", rows[model].pk))

    assert response.status_code == 200


@pytest.mark.parametrize("model", [m for m in ADMIN_PAGES if m not in (TenantEvent, Invitation)], ids=lambda model: model.__name__)
def test_add_page_renders(admin_client: Client, rows: dict[type, Any], model: type) -> None:
    response = admin_client.get(_url(model, "add"))

    assert response.status_code == 200


def test_non_staff_member_is_sent_to_the_admin_login(client: Client, acme: Tenant, member: Any) -> None:
    admin_member = member(acme, Role.TENANT_ADMIN)
    client.force_login(admin_member.user)

    index = client.get("/admin/")
    changelist = client.get(_url(Channel, "changelist"))

    assert index.status_code == changelist.status_code == 302
    assert index["Location"].startswith("/admin/login/")
    assert changelist["Location"].startswith("/admin/login/")


def test_anonymous_visitor_is_sent_to_the_admin_login(client: Client, rows: dict[type, Any]) -> None:
    response = client.get(_url(Conversation, "change", rows[Conversation].pk))

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# Secrets


def test_channel_pages_never_show_clear_credentials(admin_client: Client, rows: dict[type, Any]) -> None:
    channel = rows[Channel]

    changelist = admin_client.get(_url(Channel, "changelist")).content.decode()
    change = admin_client.get(_url(Channel, "change", channel.pk)).content.decode()
    others = [admin_client.get(_url(Channel, view, channel.pk)).content.decode() for view in ("history", "delete")]

    assert CLEAR_SECRET not in changelist
    assert CLEAR_SECRET not in change
    assert all(CLEAR_SECRET not in page for page in others)
    assert MASKED_SECRET in change
    assert 'name="credentials"' not in change
    assert channel.webhook_url in change


def _channel_form(channel: Channel, **changes: Any) -> dict[str, Any]:
    prefix = "channeluserobjectpermission_set"
    granted = list(ChannelUserObjectPermission.objects.filter(content_object=channel))
    data = {
        "name": channel.name, "kind": channel.kind, "status": channel.status,
        "status_detail": channel.status_detail, "config": "{}", "credentials_update": "",
        f"{prefix}-TOTAL_FORMS": len(granted), f"{prefix}-INITIAL_FORMS": len(granted),
        f"{prefix}-MIN_NUM_FORMS": 0, f"{prefix}-MAX_NUM_FORMS": 1000,
        "_save": "Save",
    }
    for index, grant in enumerate(granted):
        data[f"{prefix}-{index}-id"] = grant.pk
        data[f"{prefix}-{index}-content_object"] = channel.pk
    data.update(changes)
    return data


def _raw_credentials_column(channel: Channel) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT credentials FROM {Channel._meta.db_table} WHERE id = %s", [channel.pk])
        return cursor.fetchone()[0]


def test_credential_replaced_in_admin_is_stored_encrypted(admin_client: Client, rows: dict[type, Any]) -> None:
    channel = rows[Channel]
    new_secret = "sk_live_fedcba9876543210"

    response = admin_client.post(
        _url(Channel, "change", channel.pk),
        _channel_form(channel, credentials_update=f'{{"api_key": "{new_secret}", "verify_token": "vt-2026-abcdef"}}'),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    stored = Channel.all_objects.get(pk=channel.pk)
    assert dict(stored.credentials) == {"api_key": new_secret, "verify_token": "vt-2026-abcdef"}
    raw = _raw_credentials_column(channel)
    assert new_secret not in raw and "vt-2026-abcdef" not in raw and "api_key" not in raw
    page = admin_client.get(_url(Channel, "change", channel.pk)).content.decode()
    assert new_secret not in page
    assert "••••3210" in page


def test_empty_credentials_field_keeps_the_stored_secrets(admin_client: Client, rows: dict[type, Any]) -> None:
    channel = rows[Channel]

    response = admin_client.post(_url(Channel, "change", channel.pk), _channel_form(channel, name="Renamed"))

    assert response.status_code == 302
    stored = Channel.all_objects.get(pk=channel.pk)
    assert stored.name == "Renamed"
    assert dict(stored.credentials) == {"api_key": CLEAR_SECRET}


def test_credential_set_to_null_is_removed(admin_client: Client, rows: dict[type, Any]) -> None:
    channel = rows[Channel]

    admin_client.post(_url(Channel, "change", channel.pk), _channel_form(channel, credentials_update='{"api_key": null}'))

    assert dict(Channel.all_objects.get(pk=channel.pk).credentials) == {}


def test_a_typed_credential_is_not_echoed_back_when_the_form_has_errors(
    admin_client: Client, rows: dict[type, Any]
) -> None:
    channel = rows[Channel]

    response = admin_client.post(
        _url(Channel, "change", channel.pk),
        _channel_form(channel, name="", credentials_update='{"api_key": "sk_live_typed_but_not_saved"}'),
    )

    assert response.status_code == 200
    assert "sk_live_typed_but_not_saved" not in response.content.decode()
    assert dict(Channel.all_objects.get(pk=channel.pk).credentials) == {"api_key": CLEAR_SECRET}


def test_credentials_that_are_not_an_object_are_refused(admin_client: Client, rows: dict[type, Any]) -> None:
    channel = rows[Channel]

    response = admin_client.post(_url(Channel, "change", channel.pk),
                                 _channel_form(channel, credentials_update='["sk_live_list"]'))

    assert response.status_code == 200
    assert dict(Channel.all_objects.get(pk=channel.pk).credentials) == {"api_key": CLEAR_SECRET}


def test_admin_offers_only_the_kinds_a_provider_serves(admin_client: Client, acme: Tenant) -> None:
    form = admin_client.get(_url(Channel, "add")).content.decode()
    refused = admin_client.post(_url(Channel, "add"), {
        "tenant": acme.pk, "name": "Fax", "kind": "fax", "status": "INACTIVE", "config": "{}",
        "channeluserobjectpermission_set-TOTAL_FORMS": 0, "channeluserobjectpermission_set-INITIAL_FORMS": 0,
    })

    assert 'value="whatsapp_cloud"' in form and 'value="api"' in form and 'value="webchat"' not in form
    assert refused.status_code == 200 and not Channel.all_objects.filter(name="Fax").exists()


def test_channel_added_in_admin_has_its_tenant_and_encrypted_credentials(
    admin_client: Client, acme: Tenant
) -> None:
    response = admin_client.post(_url(Channel, "add"), {
        "tenant": acme.pk, "name": "Site", "kind": "api", "status": "INACTIVE", "config": "{}",
        "credentials_update": '{"secret": "whsec_0123456789"}',
        "channeluserobjectpermission_set-TOTAL_FORMS": 0, "channeluserobjectpermission_set-INITIAL_FORMS": 0,
        "_save": "Save",
    })

    assert response.status_code == 302, response.content.decode()[:3000]
    channel = Channel.all_objects.get(name="Site")
    assert channel.tenant_id == acme.pk
    assert dict(channel.credentials) == {"secret": "whsec_0123456789"}
    assert "whsec_0123456789" not in _raw_credentials_column(channel)


def test_archive_action_goes_through_the_service(admin_client: Client, rows: dict[type, Any]) -> None:
    channel = rows[Channel]

    admin_client.post(_url(Channel, "changelist"), {"action": "archive", "_selected_action": [channel.pk]})

    channel = Channel.all_objects.get(pk=channel.pk)
    assert channel.archived_at is not None
    assert channel.status == Channel.Status.INACTIVE
    assert TenantEvent.all_objects.filter(name="channel.archived", channel_id=channel.pk).exists()


# Query counts


def _changelist_queries(client: Client, model: type) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(_url(model, "changelist"))
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("model", [Conversation, Message], ids=lambda model: model.__name__)
def test_changelist_query_count_does_not_grow_with_rows(
    admin_client: Client, acme: Tenant, globex: Tenant, model: type
) -> None:
    def add(count: int) -> None:
        for index in range(count):
            tenant = (acme, globex)[index % 2]
            conversation = factories.ConversationFactory(
                tenant=tenant, assignee=factories.UserFactory(), team=factories.TeamFactory(tenant=tenant)
            )
            factories.MessageFactory(conversation=conversation)

    add(3)
    with_3 = _changelist_queries(admin_client, model)
    add(27)
    with_30 = _changelist_queries(admin_client, model)

    assert model.all_objects.count() == 30
    assert with_30 == with_3


def test_tenant_changelist_shows_usage_in_constant_queries(admin_client: Client, member: Any) -> None:
    tenants = [factories.TenantFactory(max_channels=3) for _ in range(3)]
    for tenant in tenants:
        factories.ChannelFactory(tenant=tenant)
        member(tenant, Role.AGENT)
    with_3 = _changelist_queries(admin_client, Tenant)
    for _ in range(7):
        factories.ChannelFactory(tenant=factories.TenantFactory())

    with_10 = _changelist_queries(admin_client, Tenant)
    page = admin_client.get(_url(Tenant, "changelist")).content.decode()

    assert with_10 == with_3
    assert "1 / 3" in page


# Tenants


def test_suspend_and_reactivate_actions(admin_client: Client, acme: Tenant, globex: Tenant) -> None:
    changelist = _url(Tenant, "changelist")

    admin_client.post(changelist, {"action": "suspend", "_selected_action": [acme.pk, globex.pk]})
    acme.refresh_from_db()
    globex.refresh_from_db()
    assert acme.status == globex.status == Tenant.Status.SUSPENDED

    admin_client.post(changelist, {"action": "reactivate", "_selected_action": [acme.pk]})
    acme.refresh_from_db()
    globex.refresh_from_db()
    assert acme.status == Tenant.Status.ACTIVE
    assert globex.status == Tenant.Status.SUSPENDED


def test_reactivate_leaves_cancelled_tenants_cancelled(admin_client: Client) -> None:
    cancelled = factories.TenantFactory(status=Tenant.Status.CANCELLED)

    admin_client.post(_url(Tenant, "changelist"), {"action": "reactivate", "_selected_action": [cancelled.pk]})

    cancelled.refresh_from_db()
    assert cancelled.status == Tenant.Status.CANCELLED


# Tenant scoping in forms


def test_scoped_row_added_in_admin_takes_the_chosen_tenant(admin_client: Client, acme: Tenant) -> None:
    response = admin_client.post(_url(Label, "add"), {"tenant": acme.pk, "name": "urgent", "color": "#ff0000"})

    assert response.status_code == 302, response.content.decode()[:3000]
    assert Label.all_objects.get(name="urgent").tenant_id == acme.pk


def test_add_without_a_tenant_is_a_form_error(admin_client: Client) -> None:
    response = admin_client.post(_url(Label, "add"), {"name": "urgent", "color": "#ff0000"})

    assert response.status_code == 200
    assert not Label.all_objects.exists()


def test_tenant_cannot_be_changed_once_set(admin_client: Client, acme: Tenant, globex: Tenant) -> None:
    label = factories.LabelFactory(tenant=acme, name="vip")

    response = admin_client.post(_url(Label, "change", label.pk),
                                 {"tenant": globex.pk, "name": "vip2", "color": "#000000"})

    assert response.status_code == 302
    label = Label.all_objects.get(pk=label.pk)
    assert (label.tenant_id, label.name) == (acme.pk, "vip2")


def test_duplicate_name_in_a_tenant_is_a_form_error_not_a_crash(admin_client: Client, acme: Tenant,
                                                                 globex: Tenant) -> None:
    factories.LabelFactory(tenant=acme, name="vip")

    duplicate = admin_client.post(_url(Label, "add"), {"tenant": acme.pk, "name": "vip", "color": "#000000"})
    elsewhere = admin_client.post(_url(Label, "add"), {"tenant": globex.pk, "name": "vip", "color": "#000000"})

    assert duplicate.status_code == 200
    assert elsewhere.status_code == 302
    assert Label.all_objects.filter(name="vip").count() == 2


def test_a_row_cannot_point_at_another_tenants_rows(admin_client: Client, acme: Tenant, globex: Tenant) -> None:
    their_channel = factories.ChannelFactory(tenant=globex)
    my_contact = factories.ContactFactory(tenant=acme)

    response = admin_client.post(_url(Conversation, "add"), {
        "tenant": acme.pk, "channel": their_channel.pk, "contact": my_contact.pk, "status": "OPEN",
        "priority": "NONE", "last_activity_at_0": "2026-01-01", "last_activity_at_1": "10:00:00",
        "unread_count": 0,
    })

    assert response.status_code == 200
    assert "channel" in response.context["adminform"].form.errors
    assert not Conversation.all_objects.exists()


def test_assignee_must_be_a_member_of_the_tenant(admin_client: Client, rows: dict[type, Any], member: Any,
                                                 globex: Tenant) -> None:
    conversation = rows[Conversation]
    outsider = member(globex, Role.AGENT)

    response = admin_client.post(_url(Conversation, "change", conversation.pk), {
        "channel": conversation.channel_id, "contact": conversation.contact_id, "status": "OPEN",
        "priority": "NONE", "assignee": outsider.user.pk, "last_activity_at_0": "2026-01-01",
        "last_activity_at_1": "10:00:00", "unread_count": 0,
    })

    assert response.status_code == 200
    assert "assignee" in response.context["adminform"].form.errors
    conversation.refresh_from_db()
    assert conversation.assignee_id != outsider.user.pk


def test_contact_identity_inline_takes_the_contacts_tenant(admin_client: Client, acme: Tenant) -> None:
    channel = factories.ChannelFactory(tenant=acme)

    response = admin_client.post(_url(Contact, "add"), {
        "tenant": acme.pk, "name": "João", "attributes": "{}",
        "identities-TOTAL_FORMS": 1, "identities-INITIAL_FORMS": 0,
        "identities-0-channel": channel.pk, "identities-0-external_id": "5511988887777",
    })

    assert response.status_code == 302, response.content.decode()[:3000]
    identity = ContactIdentity.all_objects.get(external_id="5511988887777")
    assert identity.tenant_id == identity.contact.tenant_id == acme.pk


def test_autocomplete_lists_every_tenants_rows(admin_client: Client, acme: Tenant, globex: Tenant) -> None:
    factories.ChannelFactory(tenant=acme, name="Loja Acme")
    factories.ChannelFactory(tenant=globex, name="Loja Globex")

    response = admin_client.get("/admin/autocomplete/", {
        "app_label": "conversations", "model_name": "conversation", "field_name": "channel", "term": "loja",
    })

    assert response.status_code == 200
    assert sorted(result["text"] for result in response.json()["results"]) == [
        "Loja Acme (webchat)", "Loja Globex (webchat)"
    ]


def _direct_request(staff: User, url: str, data: dict[str, Any] | None = None) -> Any:
    """A request that skips the middleware, so no tenant scope is set for the admin."""
    factory = RequestFactory()
    request = factory.post(url, data) if data is not None else factory.get(url)
    request.user = staff
    request.session = {}
    request._messages = FallbackStorage(request)
    request._dont_enforce_csrf_checks = True
    return request


@pytest.mark.parametrize("model", ADMIN_PAGES, ids=lambda model: model.__name__)
def test_admin_pages_work_with_no_tenant_current(rows: dict[type, Any], staff: User, model: type) -> None:
    # Not relying on the middleware: the admin itself is explicit about seeing all tenants.
    model_admin = site.get_model_admin(model)
    row = rows[model]
    pages = [
        (_url(model, "changelist"), model_admin.changelist_view, ()),
        (_url(model, "change", row.pk), model_admin.change_view, (str(row.pk),)),
    ]
    if model_admin.has_add_permission(_direct_request(staff, "/admin/")):
        pages.append((_url(model, "add"), model_admin.add_view, ()))

    for url, view, args in pages:
        response = view(_direct_request(staff, url), *args)
        response.render()
        assert response.status_code == 200, url


def test_admin_saves_with_no_tenant_current(acme: Tenant, globex: Tenant, staff: User) -> None:
    factories.ConversationFactory(tenant=globex)
    channel = factories.ChannelFactory(tenant=acme)
    contact_admin = site.get_model_admin(Contact)
    url = _url(Contact, "add")

    response = contact_admin.add_view(_direct_request(staff, url, {
        "tenant": acme.pk, "name": "João", "attributes": "{}",
        "identities-TOTAL_FORMS": 1, "identities-INITIAL_FORMS": 0,
        "identities-0-channel": channel.pk, "identities-0-external_id": "5511988887777",
    }))

    assert response.status_code == 302
    identity = ContactIdentity.all_objects.get(external_id="5511988887777")
    assert identity.tenant_id == identity.contact.tenant_id == acme.pk
    assert site.get_model_admin(Conversation).get_queryset(_direct_request(staff, "/admin/")).count() == 1


# Users


def test_user_is_added_with_an_email_and_no_username(admin_client: Client) -> None:
    response = admin_client.post(_url(User, "add"), {
        "email": "Nova.Pessoa@Example.test", "full_name": "Nova Pessoa", "usable_password": "true",
        "password1": "a-long-pass-2026!", "password2": "a-long-pass-2026!",
    })

    assert response.status_code == 302, response.content.decode()[:3000]
    user = User.objects.get(email="nova.pessoa@example.test")
    assert user.check_password("a-long-pass-2026!")


def test_user_change_page_adds_a_membership_inline(admin_client: Client, acme: Tenant) -> None:
    user = factories.UserFactory()

    response = admin_client.post(_url(User, "change", user.pk), {
        "email": user.email, "full_name": user.full_name, "language": "", "is_active": "on",
        "date_joined_0": "2026-01-01", "date_joined_1": "10:00:00",
        "memberships-TOTAL_FORMS": 1, "memberships-INITIAL_FORMS": 0,
        "memberships-0-tenant": acme.pk, "memberships-0-role": Role.AGENT,
    })

    assert response.status_code == 302, response.content.decode()[:3000]
    assert Membership.all_objects.get(user=user).tenant_id == acme.pk


def test_membership_cannot_be_a_platform_role(admin_client: Client, acme: Tenant) -> None:
    user = factories.UserFactory()

    response = admin_client.post(_url(Membership, "add"), {
        "tenant": acme.pk, "user": user.pk, "role": Role.SUPER_ADMIN,
    })

    assert response.status_code == 200
    assert not Membership.all_objects.filter(user=user).exists()


def test_channel_access_is_listed_on_the_channel(admin_client: Client, rows: dict[type, Any]) -> None:
    page = admin_client.get(_url(Channel, "change", rows[Channel].pk)).content.decode()

    assert rows[User].email in page


def test_channel_access_is_only_for_members_of_the_channels_tenant(
    admin_client: Client, acme: Tenant, globex: Tenant, member: Any
) -> None:
    channel = factories.ChannelFactory(tenant=acme)
    outsider = member(globex, Role.AGENT)
    insider = member(acme, Role.AGENT)
    from django.contrib.auth.models import Permission

    permission = Permission.objects.get(codename="work_channel")

    refused = admin_client.post(_url(ChannelUserObjectPermission, "add"), {
        "content_object": channel.pk, "user": outsider.user.pk, "permission": permission.pk,
    })
    granted = admin_client.post(_url(ChannelUserObjectPermission, "add"), {
        "content_object": channel.pk, "user": insider.user.pk, "permission": permission.pk,
    })

    assert refused.status_code == 200
    assert granted.status_code == 302
    assert list(ChannelUserObjectPermission.objects.values_list("user_id", flat=True)) == [insider.user.pk]


def test_granting_through_the_service_shows_in_the_access_changelist(
    admin_client: Client, acme: Tenant, member: Any
) -> None:
    channel = factories.ChannelFactory(tenant=acme, name="Balcão")
    agent = member(acme, Role.AGENT)
    channel_access_grant(channel=channel, user=agent.user)

    page = admin_client.get(_url(ChannelUserObjectPermission, "changelist")).content.decode()

    assert agent.user.email in page
