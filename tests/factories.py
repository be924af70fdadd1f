"""factory-boy factories. They write through `all_objects`, the unscoped manager, so tests
can build any tenant's rows without a tenant being current."""

from __future__ import annotations

from typing import Any

import factory
from django.utils import timezone

from accounts.models import Membership, Role, User
from channels_app.models import Channel
from config.crypto import Secrets
from contacts.models import Contact, ContactIdentity
from conversations.models import CannedResponse, Conversation, Label, Message, Team
from tenants.models import Tenant

PASSWORD = "test-pass-2026"


class UnscopedFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        return model_class.all_objects.create(*args, **kwargs)


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")
    status = Tenant.Status.ACTIVE


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Sequence(lambda n: f"User {n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create: bool, extracted: Any, **kwargs: Any) -> None:  # noqa: N805
        if create:
            obj.save()


class MembershipFactory(UnscopedFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.AGENT


class ChannelFactory(UnscopedFactory):
    class Meta:
        model = Channel

    tenant = factory.SubFactory(TenantFactory)
    # A kind no provider of this installation serves: nothing is sent on it (tests that need a
    # provider use whatsapp_cloud or api).
    kind = "webchat"
    name = factory.Sequence(lambda n: f"Channel {n}")
    status = Channel.Status.CONNECTED
    credentials = factory.LazyFunction(lambda: Secrets({"api_key": "sk_test_0123456789abcdef"}))


class ContactFactory(UnscopedFactory):
    class Meta:
        model = Contact

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Contact {n}")
    phone = factory.Sequence(lambda n: f"+55119{n:08d}")
    email = factory.Sequence(lambda n: f"contact{n}@example.test")


class ContactIdentityFactory(UnscopedFactory):
    class Meta:
        model = ContactIdentity

    contact = factory.SubFactory(ContactFactory)
    tenant = factory.SelfAttribute("contact.tenant")
    channel = factory.SubFactory(ChannelFactory, tenant=factory.SelfAttribute("..tenant"))
    external_id = factory.Sequence(lambda n: f"ext-{n}")


class LabelFactory(UnscopedFactory):
    class Meta:
        model = Label

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"label-{n}")


class TeamFactory(UnscopedFactory):
    class Meta:
        model = Team

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Team {n}")


class CannedResponseFactory(UnscopedFactory):
    class Meta:
        model = CannedResponse

    tenant = factory.SubFactory(TenantFactory)
    short_code = factory.Sequence(lambda n: f"code{n}")
    content = "Olá! Como posso ajudar?"


class ConversationFactory(UnscopedFactory):
    class Meta:
        model = Conversation

    tenant = factory.SubFactory(TenantFactory)
    channel = factory.SubFactory(ChannelFactory, tenant=factory.SelfAttribute("..tenant"))
    contact = factory.SubFactory(ContactFactory, tenant=factory.SelfAttribute("..tenant"))
    last_activity_at = factory.LazyFunction(timezone.now)


class MessageFactory(UnscopedFactory):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    tenant = factory.SelfAttribute("conversation.tenant")
    channel = factory.SelfAttribute("conversation.channel")
    direction = Message.Direction.INBOUND
    sender_type = Message.SenderType.CONTACT
    content = factory.Sequence(lambda n: f"Mensagem {n}")
    status = Message.Status.DELIVERED
