from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import Any

import phonenumbers
import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Membership, Role, User
from channels_app.kinds import kind_of
from channels_app.models import Channel, ChannelUserObjectPermission
from contacts.models import Contact, ContactIdentity
from conversations.demo import DEMO_PASSWORD, demo_logins
from conversations.models import CannedResponse, Conversation, Label, Message, Team
from tenants.models import Tenant, TenantEvent
from tests import factories

pytestmark = pytest.mark.django_db

TENANT_MODELS = (Membership, Channel, Contact, ContactIdentity, Conversation, Message, Team, Label, CannedResponse)


@pytest.fixture(scope="module")
def seeded(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    """Seed once for the module, inside a transaction rolled back at the end, so the other
    test modules never see the demo data. Each test runs in a savepoint of it."""
    with django_db_blocker.unblock(), transaction.atomic():
        out = StringIO()
        call_command("seed_demo", stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)


def _counts() -> dict[str, int]:
    return {model.__name__: model.all_objects.count() for model in TENANT_MODELS} | {
        "Tenant": Tenant.objects.count(), "User": User.objects.count(),
        "ChannelUserObjectPermission": ChannelUserObjectPermission.objects.count(),
    }


def test_seed_demo_creates_two_active_tenants(seeded):
    tenants = {tenant.slug: tenant for tenant in Tenant.objects.all()}

    assert set(tenants) == {"acme", "globex"}
    assert tenants["acme"].name == "Acme Comércio Ltda" and tenants["globex"].name == "Globex Serviços"
    assert {tenant.status for tenant in tenants.values()} == {Tenant.Status.ACTIVE}


def test_every_demo_login_authenticates_with_its_role(seeded):
    logins = demo_logins()

    assert len(logins) == 9
    for login in logins:
        user = authenticate(email=login.email, password=DEMO_PASSWORD)
        assert user is not None, login.email
        assert user.full_name
        if login.role == Role.SUPER_ADMIN:
            assert user.is_superuser and user.is_staff
        else:
            membership = Membership.all_objects.get(user=user)
            assert (membership.tenant.slug, membership.role) == (login.tenant, login.role)


def test_seed_demo_prints_the_logins_and_urls(seeded):
    for login in demo_logins():
        assert login.email in seeded
    assert DEMO_PASSWORD in seeded
    for url in ("http://127.0.0.1:8000/", "http://127.0.0.1:8000/admin/", "http://127.0.0.1:8000/api/docs/"):
        assert url in seeded


@pytest.mark.parametrize("slug", ["acme", "globex"])
def test_each_tenant_has_contacts_with_valid_numbers_and_sixty_conversations(seeded, slug):
    tenant = Tenant.objects.get(slug=slug)
    contacts = Contact.all_objects.filter(tenant=tenant)
    phones = [phone for phone in contacts.values_list("phone", flat=True) if phone]

    assert 30 <= contacts.count() <= 40
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(phone)) for phone in phones)
    brazilian_mobiles = [phone for phone in phones if phone.startswith("+55") and phone[5] == "9"]
    assert len(brazilian_mobiles) >= 20
    assert len(phones) - len([p for p in phones if p.startswith("+55")]) >= 2
    assert contacts.exclude(email="").count() >= 10
    assert Conversation.all_objects.filter(tenant=tenant).count() == 60


@pytest.mark.parametrize("slug", ["acme", "globex"])
def test_each_tenant_shows_every_state_of_the_inbox(seeded, slug):
    tenant = Tenant.objects.get(slug=slug)
    conversations = Conversation.all_objects.filter(tenant=tenant)
    messages = Message.all_objects.filter(tenant=tenant)

    assert set(conversations.values_list("status", flat=True)) == set(Conversation.Status.values)
    snoozed = conversations.filter(status=Conversation.Status.SNOOZED)
    assert all(conversation.snoozed_until > timezone.now() for conversation in snoozed)
    assert messages.filter(private=True).exists()
    failed = messages.get(direction=Message.Direction.OUTBOUND, status=Message.Status.FAILED)
    assert failed.error_code == "131047" and failed.channel.kind == "whatsapp_cloud"
    outbound = set(messages.filter(direction=Message.Direction.OUTBOUND, private=False).values_list("status", flat=True))
    assert {Message.Status.SENT, Message.Status.DELIVERED, Message.Status.READ} <= outbound
    assert {"vip", "financeiro", "troca", "urgente"} <= set(
        conversations.values_list("labels__name", flat=True))
    assignees = set(conversations.values_list("assignee__email", flat=True))
    assert {None, f"agent@{slug}.test", f"manager@{slug}.test", f"admin@{slug}.test"} <= assignees
    assert conversations.filter(team__name="Vendas").exists() and conversations.filter(team__name="Suporte").exists()
    assert set(CannedResponse.all_objects.filter(tenant=tenant).values_list("short_code", flat=True)) >= {
        "ola", "boleto", "prazo"}


def test_history_is_spread_over_ten_days_in_order(seeded):
    tenant = Tenant.objects.get(slug="acme")
    conversations = Conversation.all_objects.filter(tenant=tenant)
    first = Message.all_objects.filter(tenant=tenant).order_by("created_at").first()
    last = Message.all_objects.filter(tenant=tenant).order_by("-created_at").first()

    assert (last.created_at - first.created_at).days >= 5
    assert (last.created_at - first.created_at).days <= 11
    for conversation in conversations:
        times = list(conversation.messages.values_list("created_at", flat=True))
        assert times == sorted(times)
        assert conversation.last_activity_at == times[-1]


def test_agent_works_only_its_channels(seeded):
    tenant = Tenant.objects.get(slug="acme")
    agent = User.objects.get(email="agent@acme.test")
    worked = set(
        ChannelUserObjectPermission.objects.filter(user=agent).values_list("content_object__name", flat=True)
    )

    assert worked == {"WhatsApp Vendas", "WhatsApp Suporte"}
    assert Channel.all_objects.filter(tenant=tenant).count() > len(worked)
    assert not Conversation.all_objects.filter(assignee=agent).exclude(channel__name__in=worked).exists()
    assert ChannelUserObjectPermission.objects.filter(user__email="viewer@acme.test").exists()


def test_every_demo_channel_has_a_provider_that_sends(seeded):
    """The demo creates channels through the providers' registry only: none whose replies would
    wait for ever."""
    kinds = set(Channel.all_objects.values_list("kind", flat=True))

    assert kinds and all(kind_of(kind).available for kind in kinds)
    assert Channel.all_objects.filter(kind="whatsapp_cloud", config__sandbox=True).count() == 4


def test_no_demo_row_crosses_tenants(seeded):
    for model in (ContactIdentity, Conversation, Message):
        assert not model.all_objects.exclude(tenant=F("channel__tenant")).exists(), model.__name__
    assert not Message.all_objects.exclude(tenant=F("conversation__tenant")).exists()
    assert not Conversation.all_objects.exclude(tenant=F("contact__tenant")).exists()
    assert not ContactIdentity.all_objects.exclude(tenant=F("contact__tenant")).exists()
    assert not Conversation.all_objects.filter(team__isnull=False).exclude(tenant=F("team__tenant")).exists()
    assert not Conversation.all_objects.exclude(labels=None).exclude(tenant=F("labels__tenant")).exists()
    for permission in ChannelUserObjectPermission.objects.select_related("content_object"):
        assert Membership.all_objects.filter(tenant=permission.content_object.tenant_id,
                                             user=permission.user_id).exists()
    acme = Tenant.objects.get(slug="acme")
    assert TenantEvent.all_objects.filter(tenant=acme).exclude(
        conversation_id__in=Conversation.all_objects.filter(tenant=acme).values("pk")).exclude(
        conversation_id=None).count() == 0


def test_seed_demo_twice_creates_nothing_new(seeded):
    before = _counts()
    out = StringIO()

    call_command("seed_demo", stdout=out)

    assert _counts() == before
    assert "already exists" in out.getvalue()
    assert "admin@acme.test" in out.getvalue()


# The create_tenant tests may run while the module's demo data exists: they use other
# slugs and emails, and compare counts before and after.


def test_create_tenant_creates_tenant_and_admin(db):
    out = StringIO()

    call_command("create_tenant", "--name", "Initech Ltda", "--slug", "initech", "--admin-email", "Ana@Initech.example",
                 "--admin-name", "Ana Souza", "--status", "ACTIVE", "--max-channels", "3", "--no-input", stdout=out)

    tenant = Tenant.objects.get(slug="initech")
    assert (tenant.name, tenant.status, tenant.max_channels) == ("Initech Ltda", Tenant.Status.ACTIVE, 3)
    membership = Membership.all_objects.select_related("user").get(tenant=tenant)
    assert membership.role == Role.TENANT_ADMIN
    assert (membership.user.email, membership.user.full_name) == ("ana@initech.example", "Ana Souza")
    password = out.getvalue().split("Generated password (shown only now): ")[1].split()[0]
    assert authenticate(email="ana@initech.example", password=password) == membership.user


def test_create_tenant_with_a_given_password_does_not_print_it(db):
    out = StringIO()

    call_command("create_tenant", "--name", "Initech", "--admin-email", "ana@initech.example",
                 "--admin-password", "correct-horse-battery", stdout=out)

    assert authenticate(email="ana@initech.example", password="correct-horse-battery") is not None
    assert "correct-horse-battery" not in out.getvalue()
    assert Tenant.objects.get(slug="initech").status == Tenant.Status.TRIAL


def test_create_tenant_reuses_an_existing_user_without_touching_its_password(db):
    user = factories.UserFactory(email="bia@example.test")
    users = User.objects.count()
    out, err = StringIO(), StringIO()

    call_command("create_tenant", "--name", "Globo", "--admin-email", "BIA@example.test",
                 "--admin-password", "another-password-1", stdout=out, stderr=err)

    assert Membership.all_objects.get(tenant__slug="globo").user == user
    assert authenticate(email="bia@example.test", password=factories.PASSWORD) == user
    assert "another-password-1" not in out.getvalue() + err.getvalue()
    assert factories.PASSWORD not in out.getvalue()
    assert User.objects.count() == users


def test_create_tenant_refuses_a_taken_slug_and_changes_nothing(db):
    factories.TenantFactory(slug="initech")
    tenants = Tenant.objects.count()

    with pytest.raises(CommandError, match="slug 'initech' is taken"):
        call_command("create_tenant", "--name", "Initech", "--slug", "Initech", "--admin-email",
                     "new@initech.example", "--no-input", stdout=StringIO())

    assert Tenant.objects.count() == tenants
    assert not User.objects.filter(email="new@initech.example").exists()


@pytest.mark.parametrize("email", ["not-an-email", "ana@", ""])
def test_create_tenant_refuses_a_bad_email_and_changes_nothing(db, email):
    with pytest.raises(CommandError, match="not a valid email"):
        call_command("create_tenant", "--name", "Initech", "--admin-email", email, "--no-input", stdout=StringIO())

    assert not Tenant.objects.filter(slug="initech").exists()


def test_create_tenant_refuses_a_weak_password(db):
    with pytest.raises(CommandError, match="password is not accepted"):
        call_command("create_tenant", "--name", "Initech", "--admin-email", "ana@initech.example",
                     "--admin-password", "123", stdout=StringIO())

    assert not Tenant.objects.filter(slug="initech").exists()
    assert not User.objects.filter(email="ana@initech.example").exists()


def test_create_tenant_asks_for_the_password_at_a_terminal(db, monkeypatch):
    answers = iter(["typed-secret-2026", "typed-secret-2026"])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    out = StringIO()

    call_command("create_tenant", "--name", "Initech", "--admin-email", "ana@initech.example", stdout=out)

    assert authenticate(email="ana@initech.example", password="typed-secret-2026") is not None
    assert "typed-secret-2026" not in out.getvalue() and "Generated password" not in out.getvalue()
