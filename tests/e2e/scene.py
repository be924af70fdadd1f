"""A store's inbox as a visitor would see it in the demo: two channels, a handful of customers
writing about orders, replies read and delivered, labels, priorities, an unassigned queue.
Used by the design tests (accessibility, phone layout, screenshots)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from django.utils import timezone
from playwright.async_api import expect

from accounts.models import Role, User
from conversations.models import Conversation, Message
from tests import factories
from tests.e2e.conftest import receive
from tests.factories import PASSWORD

# (contact, channel key, [(who, text, minutes ago)], assigned to the admin, priority, labels, unread)
_CONVERSATIONS: list[tuple[str, str, list[tuple[str, str, int]], bool, str, tuple[str, ...], int]] = [
    ("Carla Castro", "whatsapp", [
        ("contact", "Oi! Quero trocar o tamanho do vestido do pedido #4821, veio M e preciso do G.", 95),
        ("agent", "Olá, Carla! Claro, a troca é grátis. Já gerei a etiqueta de postagem: chega no seu e-mail em instantes.", 88),
        ("contact", "Recebi, obrigada! Posso levar na agência amanhã?", 6),
    ], True, "HIGH", ("troca", "vip"), 0),
    ("Diego Dias", "api", [
        ("contact", "Meu pedido #4790 aparece como entregue, mas não chegou.", 190),
        ("agent", "Sinto muito, Diego. Abri uma ocorrência com a transportadora e te aviso até amanhã.", 170),
    ], True, "URGENT", ("entrega",), 0),
    ("Elisa Souza", "whatsapp", [
        ("contact", "Vocês entregam no sábado em Campinas?", 23),
    ], False, "NONE", (), 1),
    ("Fernando Almeida", "whatsapp", [
        ("contact", "Consigo pagar o boleto vencido ainda hoje?", 300),
        ("agent", "Consegue sim! Gerei a segunda via com vencimento para sexta.", 290),
        ("contact", "Perfeito, já paguei. Obrigado!", 280),
    ], True, "NONE", ("financeiro",), 0),
    ("Gabriela Nunes", "api", [
        ("contact", "Tem o tênis Aurora Run no 38?", 1500),
    ], False, "MEDIUM", (), 2),
    ("Henrique Prado", "whatsapp", [
        ("contact", "Bom dia, o cupom PRIMEIRACOMPRA não está funcionando.", 2900),
        ("agent", "Bom dia, Henrique! Ele vale a partir de R$ 150; o seu carrinho está em R$ 129,90.", 2880),
    ], True, "LOW", ("cupom",), 0),
]


@dataclass
class DemoInbox:
    tenant: Any
    admin: Any  # a tenant admin, Mariana Costa, who manages the channels too
    channels: dict[str, Any]
    conversations: dict[str, Conversation]  # by contact name

    def set_language(self, language: str) -> None:
        User.objects.filter(pk=self.admin.user.pk).update(language=language)


def demo_inbox_create(*, member: Any) -> DemoInbox:
    tenant = factories.TenantFactory(name="Loja Aurora", slug="aurora")
    channels = {
        "whatsapp": factories.ChannelFactory(tenant=tenant, kind="whatsapp_cloud", name="WhatsApp Vendas",
                                             config={"phone_number_id": "100000000000001", "waba_id": "200000000000001"}),
        "api": factories.ChannelFactory(tenant=tenant, kind="api", name="Loja online (API)"),
    }
    admin = member(tenant, Role.TENANT_ADMIN, channels=tuple(channels.values()), full_name="Mariana Costa",
                   email="mariana@aurora.test")
    member(tenant, Role.AGENT, channels=tuple(channels.values()), full_name="Rafael Lima")
    now = timezone.now()
    conversations: dict[str, Conversation] = {}
    for name, channel_key, turns, assigned, priority, labels, unread in _CONVERSATIONS:
        channel = channels[channel_key]
        external = "55119" + str(sum(map(ord, name)) * 7919).zfill(8)[-8:] if channel_key == "whatsapp" else f"crm-{name.split()[0].lower()}"
        conversation = None
        for who, text, minutes in turns:
            moment = now - timedelta(minutes=minutes)
            if who == "contact":
                message = receive(channel, external, text, name=name)
                conversation = message.conversation
            else:
                assert conversation is not None
                message = factories.MessageFactory(
                    conversation=conversation, direction=Message.Direction.OUTBOUND,
                    sender_type=Message.SenderType.AGENT, sender_user=admin.user, content=text,
                    status=Message.Status.READ, provider_message_id=f"demo-{conversation.pk}-{minutes}")
            Message.all_objects.filter(pk=message.pk).update(created_at=moment)
        assert conversation is not None
        Conversation.all_objects.filter(pk=conversation.pk).update(
            last_activity_at=now - timedelta(minutes=turns[-1][2]), unread_count=unread, priority=priority,
            assignee=admin.user if assigned else None)
        for label in labels:
            conversation.labels.add(factories.LabelFactory(tenant=tenant, name=label))
        conversations[name] = conversation
    return DemoInbox(tenant=tenant, admin=admin, channels=channels, conversations=conversations)


async def log_in(page: Any, email: str, path: str) -> None:
    """Through the login page, as a person does; waits for the inbox's socket when it lands there."""
    await page.goto(f"/login/?next={quote(path)}")
    await page.locator("input[name=email]").fill(email)
    await page.locator("input[name=password]").fill(PASSWORD)
    await page.locator("form.login-card button[type=submit]").click()
    await page.wait_for_url(f"**{path.split('?')[0]}*")
    if path.startswith("/inbox"):
        await expect(page.locator("#connection")).to_have_attribute("data-state", "online")
