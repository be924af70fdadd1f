"""Demo data: two tenants with members of every role, channels, contacts, and ten days of
realistic Portuguese conversations.

Everything is created through the services, as the API and the providers would create it;
only the history is then back-dated (timestamps, delivery states, unread counters) with
plain updates, because services record what happens *now*. Seeding is deterministic (a
fixed random seed per tenant) and idempotent: a tenant that exists is left untouched.

`manage.py seed_demo` calls `demo_seed()` and prints what it returns.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import phonenumbers
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.models import Role, User
from accounts.services import membership_create, user_create
from channels_app.models import Channel
from channels_app.services import channel_access_grant, channel_create, channel_set_status
from contacts.models import Contact, ContactIdentity
from contacts.services import contact_create
from conversations.events import ConversationStatusChanged
from conversations.incoming import IncomingMessage
from conversations.models import Conversation, Message, Team
from conversations.reports.aggregates import report_rebuild
from conversations.services import (
    canned_response_create,
    conversation_update,
    label_create,
    message_receive,
    message_send,
    team_create,
)
from tenants.models import Tenant, TenantEvent
from tenants.scoping import tenant_context
from tenants.services import tenant_create

DEMO_PASSWORD = "demo-inbox-2026"
DEMO_SEED = 2026
SUPERUSER_EMAIL = "root@platform.test"
SUPERUSER_NAME = "Operação da Plataforma"
HISTORY_DAYS = 10
# Both demo tenants work on Brasília time (the Tenant default).
LOCAL_TIME = ZoneInfo("America/Sao_Paulo")


# --- What is seeded ------------------------------------------------------------------


@dataclass(frozen=True)
class DemoTenant:
    slug: str
    name: str
    # role → full name; the email is `<role key>@<slug>.test`.
    people: dict[str, str]


DEMO_TENANTS: tuple[DemoTenant, ...] = (
    DemoTenant(
        slug="acme", name="Acme Comércio Ltda",
        people={"admin": "Mariana Costa", "manager": "Rafael Oliveira", "agent": "Juliana Santos",
                "viewer": "Bruno Almeida"},
    ),
    DemoTenant(
        slug="globex", name="Globex Serviços",
        people={"admin": "Fernanda Ribeiro", "manager": "Thiago Carvalho", "agent": "Camila Ferreira",
                "viewer": "Lucas Martins"},
    ),
)

ROLE_OF = {"admin": Role.TENANT_ADMIN, "manager": Role.MANAGER, "agent": Role.AGENT, "viewer": Role.VIEWER}


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    tenant: str  # slug, or "" for the platform superuser
    password: str = DEMO_PASSWORD


@dataclass
class DemoSeedResult:
    created: list[str] = field(default_factory=list)  # tenant slugs seeded now
    existing: list[str] = field(default_factory=list)  # tenant slugs that were already there
    superuser_created: bool = False
    logins: list[DemoLogin] = field(default_factory=list)


def demo_logins() -> list[DemoLogin]:
    logins = [
        DemoLogin(email=f"{key}@{spec.slug}.test", role=ROLE_OF[key], tenant=spec.slug)
        for spec in DEMO_TENANTS for key in ROLE_OF
    ]
    return [*logins, DemoLogin(email=SUPERUSER_EMAIL, role=Role.SUPER_ADMIN, tenant="")]


# Channels come from the providers (each provider's adapter names its demo channels, by the
# role the demo gives them): "sales" and "support" numbers, a site "chat", an "email" mailbox,
# an "integration" (API). Conversations are spread over the roles that this installation's
# providers serve. The agent works sales, support and the chat, not the mailbox or the API, so
# that agent scoping shows; the viewer watches sales and the chat.
AGENT_ROLES = ("sales", "support", "chat")
VIEWER_ROLES = ("sales", "chat")


class DemoChannelSpec(Protocol):
    """A provider's demo channel (integrations.base.DemoChannel), as the demo reads it."""

    role: str
    name: str
    config: dict[str, Any]
    credentials: dict[str, Any]
    read_receipts: bool
    reply_window_error: tuple[str, str] | None

    def address(self, *, digits: str, email: str, index: int) -> str: ...


def demo_channel_specs(*, spec: DemoTenant, number: int) -> list[tuple[str, DemoChannelSpec]]:
    """(kind, demo channel) of every provider, through settings.DEMO_CHANNELS (the core
    never imports a provider)."""
    found: list[tuple[str, DemoChannelSpec]] = import_string(settings.DEMO_CHANNELS)(
        tenant_slug=spec.slug, tenant_name=spec.name, number=number)
    return found


LABEL_COLOURS = {
    "vip": "#a855f7", "financeiro": "#16a34a", "troca": "#f59e0b", "urgente": "#dc2626",
    "orçamento": "#2563eb", "entrega": "#0891b2", "garantia": "#ea580c", "cancelamento": "#64748b",
    "reclamação": "#be123c",
}

TEAMS = {"Vendas": ("manager", "agent"), "Suporte": ("admin", "agent")}

CANNED_RESPONSES = {
    "ola": "Olá! Aqui é da equipe {empresa}. Como posso ajudar?",
    "boleto": "Para emitir a segunda via do boleto, me informe o número do pedido ou o CPF do titular.",
    "prazo": "O prazo de entrega é de 3 a 5 dias úteis para capitais e de 5 a 10 dias úteis para o interior, "
             "contados da confirmação do pagamento.",
    "pix": "Nossa chave Pix é pix@{slug}.example. Depois do pagamento, é só enviar o comprovante por aqui.",
    "troca": "Você tem até 7 dias após o recebimento para pedir troca ou devolução. Me envie o número do "
             "pedido e uma foto do produto, por favor.",
    "rastreio": "Você acompanha a entrega pelo código de rastreio que enviamos por e-mail, no site dos Correios.",
    "horario": "Nosso atendimento funciona de segunda a sexta, das 8h às 18h, e aos sábados, das 9h às 13h.",
    "obrigado": "Obrigado pelo contato! Se precisar de mais alguma coisa, é só chamar. 😊",
}


# --- Conversation scripts ------------------------------------------------------------

IN, OUT, NOTE, BOT = "in", "out", "note", "bot"


@dataclass(frozen=True)
class Topic:
    key: str
    team: str
    sales: bool
    labels: tuple[str, ...]
    priority: str
    turns: tuple[tuple[str, str], ...]


Priority = Conversation.Priority
Status = Conversation.Status
TOPICS: tuple[Topic, ...] = (
    Topic("pedido_atrasado", "Suporte", False, ("entrega",), Priority.HIGH, (
        (IN, "Boa tarde! Comprei {um_produto} no dia {data_compra} e até agora não chegou. Pedido {pedido}."),
        (OUT, "Olá, {nome}! Aqui é {atendente}, da {empresa}. Sinto muito pela demora. "
              "Vou verificar o pedido {pedido}, só um instante."),
        (NOTE, "Transportadora com atraso na região; pedido parado no centro de distribuição desde {data_compra}."),
        (OUT, "Verifiquei: houve um atraso na transportadora, mas o pedido já saiu para entrega. "
              "O código de rastreio é {rastreio}."),
        (IN, "Tem previsão de quando chega?"),
        (OUT, "A previsão é até {data_entrega}. Se não chegar até lá, me chama aqui que eu resolvo pra você."),
        (IN, "Ok, valeu!"),
        (OUT, "Por nada! Qualquer coisa, estamos à disposição."),
    )),
    Topic("segunda_via_boleto", "Suporte", False, ("financeiro",), Priority.MEDIUM, (
        (IN, "Oi, preciso da segunda via do boleto, o meu venceu ontem"),
        (OUT, "Olá, {nome}! Claro. Pode me confirmar o número do pedido ou o CPF do titular?"),
        (IN, "Pedido {pedido}"),
        (OUT, "Obrigado! Gerei a segunda via com vencimento em {data_entrega}, no valor de R$ {valor}: "
              "https://pagamentos.example.com/boleto/{pedido_numero}"),
        (IN, "Consigo pagar por Pix?"),
        (OUT, "Consegue sim! A chave Pix é pix@{slug}.example e a confirmação é na hora. "
              "Depois é só mandar o comprovante aqui."),
        (IN, "Paguei, segue o comprovante"),
        (OUT, "Recebido, {nome}! Pagamento confirmado. Obrigado!"),
    )),
    Topic("troca_produto", "Suporte", False, ("troca",), Priority.MEDIUM, (
        (IN, "Olá, {o_produto} que recebi veio com defeito, quero trocar"),
        (OUT, "Oi, {nome}! Peço desculpas pelo transtorno. Pode me mandar uma foto do defeito e o número do pedido?"),
        (IN, "Pedido {pedido}. Mandei a foto, a peça veio trincada"),
        (NOTE, "Defeito confirmado pela foto. Dentro dos 7 dias do CDC: aprovar troca sem custo."),
        (OUT, "Obrigado! A troca foi aprovada. Vou te enviar uma etiqueta de postagem reversa dos Correios, sem custo."),
        (IN, "E quanto tempo demora pra chegar o novo?"),
        (OUT, "Assim que o produto chegar ao nosso centro, enviamos o novo em até 2 dias úteis. "
              "Código de postagem: {rastreio}."),
        (IN, "Perfeito, agradeço pela agilidade"),
    )),
    Topic("orcamento", "Vendas", True, ("orçamento",), Priority.MEDIUM, (
        (IN, "Bom dia! Vocês fazem orçamento para empresa? Precisamos de 20 unidades de {produto}."),
        (OUT, "Bom dia, {nome}! Fazemos sim, e para 20 unidades temos condição especial. "
              "Pode me passar o CNPJ e o CEP de entrega?"),
        (IN, "CNPJ 11.222.333/0001-81, CEP 01310-100"),
        (NOTE, "Cliente PJ com potencial de recorrência. Desconto de até 12% aprovado pela gerência."),
        (OUT, "Obrigado! O orçamento ficou em R$ {valor_grande} com frete incluso, em até 3x no boleto. "
              "Válido até {data_entrega}."),
        (IN, "Consegue melhorar o preço à vista?"),
        (OUT, "À vista no Pix consigo mais 5% de desconto. Posso emitir o pedido?"),
        (IN, "Vou ver com o financeiro e te retorno"),
        (OUT, "Combinado! Fico no aguardo."),
    )),
    Topic("prazo_entrega", "Vendas", True, ("entrega",), Priority.LOW, (
        (IN, "Qual o prazo de entrega para {cidade}?"),
        (OUT, "Olá, {nome}! Para {cidade} o prazo é de 3 a 5 dias úteis após a confirmação do pagamento."),
        (IN, "E o frete fica quanto para {o_produto}?"),
        (OUT, "O frete fica R$ 19,90, e acima de R$ 299,00 é grátis 😉"),
        (IN, "Ótimo, vou fechar pelo site então"),
        (OUT, "Perfeito! Qualquer dúvida, é só chamar."),
    )),
    Topic("pix_nao_confirmado", "Suporte", False, ("financeiro",), Priority.HIGH, (
        (IN, "Fiz um Pix de R$ {valor} há 2 horas e o pedido continua aguardando pagamento"),
        (OUT, "Olá, {nome}! Vou conferir. Pode me enviar o comprovante e o número do pedido?"),
        (IN, "Pedido {pedido}, o comprovante tá aqui"),
        (NOTE, "Pix caiu na conta, mas a conciliação automática falhou. Baixa manual feita no ERP."),
        (OUT, "Encontrei o pagamento! Houve uma falha na baixa automática, mas já confirmei manualmente. "
              "Seu pedido segue para separação."),
        (IN, "Ufa, que alívio! Valeu"),
    )),
    Topic("cancelamento", "Suporte", False, ("cancelamento",), Priority.MEDIUM, (
        (IN, "Quero cancelar o pedido {pedido}, comprei errado"),
        (OUT, "Oi, {nome}! O pedido ainda não foi enviado, então o cancelamento é imediato. Confirma que deseja cancelar?"),
        (IN, "Sim, pode cancelar"),
        (OUT, "Pronto, cancelado. O estorno de R$ {valor} aparece na fatura do cartão em até 2 faturas, "
              "conforme a operadora."),
        (IN, "Beleza, valeu"),
    )),
    Topic("nota_fiscal", "Suporte", False, ("financeiro",), Priority.LOW, (
        (IN, "Boa tarde, não recebi a nota fiscal da minha compra"),
        (OUT, "Boa tarde, {nome}! Vou reenviar agora. É para o mesmo e-mail do cadastro?"),
        (IN, "Isso, mas preciso com o CNPJ da empresa, não com meu CPF"),
        (NOTE, "Refaturamento exige cancelar a NF-e em até 24h. Pedi ao fiscal."),
        (OUT, "Entendi. Vou pedir ao setor fiscal a emissão com o CNPJ e te retorno até amanhã, combinado?"),
        (IN, "Combinado"),
        (OUT, "A nota com o CNPJ foi emitida e enviada para o seu e-mail. Qualquer coisa, estou por aqui."),
    )),
    Topic("rastreio", "Suporte", False, ("entrega",), Priority.LOW, (
        (IN, "Oi! Como faço para rastrear meu pedido?"),
        (OUT, "Olá, {nome}! O código de rastreio do pedido {pedido} é {rastreio}. Dá para acompanhar no site dos Correios."),
        (IN, "Aqui aparece 'objeto aguardando retirada'"),
        (OUT, "Isso quer dizer que o carteiro não encontrou ninguém no endereço. O objeto fica 7 dias na agência "
              "mais próxima; é só levar um documento com foto."),
        (IN, "Ah, entendi. Vou buscar amanhã, valeu"),
    )),
    Topic("garantia", "Suporte", False, ("garantia",), Priority.MEDIUM, (
        (IN, "{Meu_produto} parou de funcionar, comprei faz 4 meses"),
        (OUT, "Oi, {nome}! Sinto muito. O produto tem 12 meses de garantia. Pode me descrever o que está acontecendo?"),
        (IN, "Não liga mais, já testei em outra tomada"),
        (OUT, "Obrigado pelas informações. Abri o chamado de garantia {pedido} e vou te enviar a etiqueta para "
              "envio à assistência técnica."),
        (NOTE, "Assistência autorizada leva 30 dias. Oferecer troca direta se for cliente VIP."),
        (IN, "Tem como trocar direto em vez de mandar pro conserto?"),
        (OUT, "Consegui aprovar a troca direta: você recebe um novo em até 5 dias úteis após a postagem do antigo."),
    )),
    Topic("estoque", "Vendas", True, (), Priority.LOW, (
        (IN, "Vocês têm {o_produto} na cor preta?"),
        (OUT, "Olá, {nome}! Temos sim, com pronta entrega. Quer que eu te envie o link?"),
        (IN, "Quero sim! E aceita parcelamento?"),
        (OUT, "Aceita! Em até 10x sem juros no cartão: https://loja.example.com/p/{pedido_numero}"),
        (IN, "Comprei! Valeu pela ajuda"),
        (OUT, "Eu que agradeço! Seu pedido {pedido} já está confirmado."),
    )),
    Topic("endereco", "Suporte", False, ("entrega",), Priority.HIGH, (
        (IN, "Preciso alterar o endereço de entrega do pedido {pedido}, me mudei"),
        (OUT, "Oi, {nome}! Consigo alterar se o pedido ainda não foi despachado. Qual o novo endereço completo, com CEP?"),
        (IN, "Rua das Palmeiras, 245, apto 32, CEP 04567-000"),
        (NOTE, "Pedido ainda no CD. Alteração feita no sistema da transportadora."),
        (OUT, "Endereço atualizado! A entrega segue no prazo original, até {data_entrega}."),
        (IN, "Show, muito obrigado pela ajuda!"),
    )),
    Topic("reembolso", "Suporte", False, ("financeiro", "reclamação"), Priority.URGENT, (
        (IN, "Cancelei o pedido {pedido} há 15 dias e o estorno até agora não apareceu. Isso é um absurdo."),
        (OUT, "{nome}, peço desculpas pelo transtorno. Vou verificar com o financeiro agora mesmo."),
        (NOTE, "Estorno não foi enviado à adquirente. Escalado ao financeiro com prioridade."),
        (OUT, "Identifiquei que o estorno não tinha sido processado. Ele foi solicitado hoje, no valor de R$ {valor}, "
              "e o comprovante chega no seu e-mail."),
        (IN, "Espero que dessa vez resolva"),
        (OUT, "Vou acompanhar pessoalmente e te aviso assim que a operadora confirmar."),
    )),
    Topic("revenda", "Vendas", True, ("orçamento",), Priority.HIGH, (
        (IN, "Olá, tenho uma loja em {cidade} e gostaria de revender os produtos de vocês"),
        (OUT, "Olá, {nome}! Que ótimo. Temos um programa de revendedores com descontos progressivos. "
              "Posso te enviar a tabela?"),
        (IN, "Pode sim. Qual o pedido mínimo?"),
        (NOTE, "Lead de revenda: agendar uma ligação com o gerente comercial."),
        (OUT, "O pedido mínimo é de R$ 1.500,00. Enviei a tabela para o seu e-mail. "
              "Quer agendar uma ligação com o nosso time comercial?"),
        (IN, "Pode ser quinta às 10h?"),
        (OUT, "Agendado para quinta às 10h. Até lá!"),
    )),
    Topic("elogio", "Suporte", False, (), Priority.NONE, (
        (IN, "Só passando pra elogiar o atendimento de vocês, resolveram tudo rapidinho!"),
        (OUT, "Que alegria ler isso, {nome}! Vou repassar para a equipe. Obrigado pela confiança!"),
        (IN, "👏👏"),
    )),
)
TOPICS_BY_KEY = {topic.key: topic for topic in TOPICS}

BOT_GREETING = "Olá! Bem-vindo ao chat da {empresa}. Em instantes alguém da equipe vai falar com você."
FOLLOW_UP = "Oi, {nome}! Conseguiu ver com o financeiro? Posso emitir o pedido?"
FOLLOW_UP_NOTE = ("Mensagem não entregue: a janela de 24h do canal fechou. "
                  "Enviar o template aprovado de retomada de contato.")
# When a channel's provider does not say how it refuses a reply after its window closed.
REENGAGEMENT_ERROR = ("reply_window_closed", "More than 24 hours have passed since the customer last replied. "
                                             "Send an approved template instead.")

# (masculine?, product): Portuguese articles agree with the noun.
PRODUCTS = (
    (True, "fone Bluetooth"), (False, "cafeteira elétrica"), (True, "tênis de corrida"),
    (False, "cadeira de escritório"), (True, "smartwatch"), (True, "liquidificador"),
    (False, "mochila de notebook"), (True, "jogo de panelas"), (True, "ventilador de coluna"), (False, "air fryer"),
)

FIRST_NAMES = (
    "Ana", "Beatriz", "Camila", "Daniela", "Fernanda", "Gabriela", "Helena", "Isabela", "Larissa", "Letícia",
    "Luana", "Natália", "Patrícia", "Renata", "Tatiane", "Vanessa", "Aline", "Carolina", "Débora", "Priscila",
    "André", "Caio", "Diego", "Eduardo", "Felipe", "Gustavo", "Henrique", "Igor", "João Pedro", "Leonardo",
    "Marcelo", "Matheus", "Otávio", "Paulo", "Rodrigo", "Vinícius", "Wesley", "Carlos", "Fábio", "Renato",
)
SURNAMES = (
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
    "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes", "Vieira", "Barbosa",
    "Rocha", "Dias", "Nascimento", "Andrade", "Moreira", "Nunes", "Marques", "Machado", "Mendes", "Freitas",
    "Cardoso", "Ramos", "Gonçalves", "Santana", "Teixeira", "Araújo", "Cavalcanti", "Monteiro", "Moura", "Correia",
)
# Area code (DDD) → city.
CITIES = {
    11: "São Paulo/SP", 19: "Campinas/SP", 21: "Rio de Janeiro/RJ", 27: "Vitória/ES", 31: "Belo Horizonte/MG",
    41: "Curitiba/PR", 48: "Florianópolis/SC", 51: "Porto Alegre/RS", 61: "Brasília/DF", 62: "Goiânia/GO",
    71: "Salvador/BA", 81: "Recife/PE", 84: "Natal/RN", 85: "Fortaleza/CE", 91: "Belém/PA", 92: "Manaus/AM",
}
# Brazilians abroad: (name, phone prefix, digits to draw, city, language).
INTERNATIONAL = (
    ("Rita Figueiredo", "+3519", 8, "Lisboa, Portugal", "pt-pt"),
    ("Daniel Moura", "+1407", 7, "Orlando, EUA", "pt-br"),
    ("Kenji Nakamura", "+8190", 8, "Hamamatsu, Japão", "pt-br"),
    ("Sofia Weber", "+49151", 8, "Munique, Alemanha", "pt-br"),
)
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
CONSENT_SOURCES = ("Cadastro no site", "Checkout da loja", "Opt-in por mensagem")


# --- The plan: pure data drawn from the seeded random generator ------------------------


@dataclass
class ContactPlan:
    name: str
    phone_input: str  # as a person would type it; the service normalises it
    e164: str
    email: str
    city: str
    language: str
    vip: bool
    created_days_ago: float
    consent_source: str = ""  # LGPD: where they agreed to be contacted, if they did


@dataclass
class ConversationPlan:
    channel_key: str
    contact_index: int  # into the contact plans; -1: a new site visitor, created on first message
    topic: Topic
    status: str
    assignee_key: str | None
    turns: list[tuple[str, str]]
    times: list[datetime]
    labels: list[str]
    priority: str
    snoozed_until: datetime | None = None
    failed_index: int | None = None  # the turn whose send failed (outside the 24 h window)
    visitor: tuple[str, str, str] | None = None  # (name, email, city) of a site visitor, from the chat form
    receipts_off: bool = False  # the contact turned read receipts off


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _valid_number(rng: random.Random, prefix: str, digits: int) -> str:
    for _ in range(200):
        candidate = prefix + "".join(str(rng.randint(0, 9)) for _ in range(digits))
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
            return candidate
    raise RuntimeError(f"no valid number drawn for {prefix}")  # pragma: no cover


def _brazilian_formats(e164: str, rng: random.Random) -> str:
    """The number as people type it, to exercise normalisation."""
    ddd, rest = e164[3:5], e164[5:]
    return rng.choice((
        f"({ddd}) {rest[:5]}-{rest[5:]}",
        f"+55 {ddd} {rest[:5]}-{rest[5:]}",
        f"{ddd}{rest}",
        e164,
    ))


def _plan_contacts(rng: random.Random, count: int = 30) -> list[ContactPlan]:
    names: set[str] = set()
    numbers: set[str] = set()
    contacts: list[ContactPlan] = []
    domestic = count - len(INTERNATIONAL)
    while len(contacts) < domestic:
        surnames = rng.sample(SURNAMES, 2)
        name = f"{rng.choice(FIRST_NAMES)} {surnames[0]}" + (f" {surnames[1]}" if rng.random() < 0.3 else "")
        if name in names:
            continue
        ddd = rng.choice(list(CITIES))
        e164 = _valid_number(rng, f"+55{ddd}9", 8)
        if e164 in numbers:
            continue
        names.add(name)
        numbers.add(e164)
        email = ""
        if rng.random() < 0.6:
            parts = _ascii(name).replace(" ", ".") if rng.random() < 0.5 else _ascii(name).split()[0] + str(
                rng.randint(10, 99))
            email = f"{parts}@{rng.choice(EMAIL_DOMAINS)}"
        contacts.append(ContactPlan(
            name=name, phone_input=_brazilian_formats(e164, rng), e164=e164, email=email, city=CITIES[ddd],
            language="pt-br", vip=rng.random() < 0.15, created_days_ago=rng.uniform(HISTORY_DAYS + 1, 400),
            consent_source=rng.choice(CONSENT_SOURCES) if rng.random() < 0.7 else "",
        ))
    for name, prefix, digits, city, language in INTERNATIONAL:
        e164 = _valid_number(rng, prefix, digits)
        email = f"{_ascii(name).replace(' ', '.')}@{rng.choice(EMAIL_DOMAINS)}"
        contacts.append(ContactPlan(
            name=name, phone_input=e164, e164=e164, email=email, city=city, language=language, vip=False,
            created_days_ago=rng.uniform(HISTORY_DAYS + 1, 400),
        ))
    return contacts


def _channel_for(topic: Topic, rng: random.Random, roles: Sequence[str]) -> str:
    if topic.sales:
        weights = {"sales": 55, "chat": 22, "email": 10, "integration": 8, "support": 5}
    else:
        weights = {"support": 45, "email": 22, "chat": 15, "sales": 10, "integration": 8}
    weights = {role: weight for role, weight in weights.items() if role in roles} or {roles[0]: 1}
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _cut(turns: Sequence[tuple[str, str]], status: str, unassigned: bool, rng: random.Random) -> list[tuple[str, str]]:
    """How far a conversation of this status got: open ones wait on the team, pending and
    snoozed ones on the customer, resolved ones ran their course."""
    kinds = [kind for kind, _ in turns]
    if status == Conversation.Status.RESOLVED:
        return list(turns)
    if unassigned:
        return list(turns[:1])
    if status == Conversation.Status.OPEN:
        candidates = [i for i, kind in enumerate(kinds) if kind == IN and i >= 2]
    else:
        candidates = [i for i, kind in enumerate(kinds) if kind == OUT and i < len(kinds) - 1] or [
            i for i, kind in enumerate(kinds) if kind == OUT]
    end = rng.choice(candidates) if candidates else len(turns) - 1
    return list(turns[: end + 1])


def _gap(previous: str, current: str, rng: random.Random) -> timedelta:
    if current == BOT:
        return timedelta(seconds=rng.randint(2, 8))
    if current == NOTE:
        return timedelta(minutes=rng.randint(1, 6), seconds=rng.randint(0, 59))
    if current == IN:
        minutes = rng.randint(1, 3) if previous == IN else rng.choice((rng.randint(2, 15), rng.randint(15, 180)))
        return timedelta(minutes=minutes, seconds=rng.randint(0, 59))
    return timedelta(minutes=rng.randint(1, 25), seconds=rng.randint(0, 59))  # an agent's reply


def _timeline(kinds: Sequence[str], end: datetime, rng: random.Random,
              pause_before: int | None = None) -> list[datetime]:
    """Times for the turns, in order, the last one at `end`. `pause_before` puts more than
    a day before that turn (a follow-up sent after the customer went quiet)."""
    offsets = [timedelta(0)]
    for index in range(1, len(kinds)):
        gap = _gap(kinds[index - 1], kinds[index], rng)
        if index == pause_before:
            gap = timedelta(hours=rng.uniform(26, 40))
        offsets.append(offsets[-1] + gap)
    start = end - offsets[-1]
    return [start + offset for offset in offsets]


def _daytime(moment: datetime, rng: random.Random) -> datetime:
    """`moment`, or if the team was off then (they work 8h to 21h), some time in their
    previous working day."""
    local = moment.astimezone(LOCAL_TIME)
    if 8 <= local.hour < 21:
        return local
    if local.hour < 8:
        local -= timedelta(days=1)
    closing = local.replace(hour=20, minute=59, second=0, microsecond=0)
    return closing - timedelta(minutes=rng.randint(0, 12 * 60))


def _plan_conversations(rng: random.Random, contacts: list[ContactPlan], now: datetime,
                        roles: Sequence[str]) -> list[ConversationPlan]:
    statuses = [Status.OPEN] * 20 + [Status.PENDING] * 12 + [Status.SNOOZED] * 6 + [Status.RESOLVED] * 22
    rng.shuffle(statuses)
    topics = [topic for _ in range(5) for topic in TOPICS]
    rng.shuffle(topics)
    # The first conversation is fixed so that every run shows a send that failed
    # outside the 24-hour reply window of the sales number.
    statuses.remove(Status.PENDING)
    statuses.insert(0, Status.PENDING)
    topics.insert(0, TOPICS_BY_KEY["orcamento"])
    open_seen = 0
    used: set[tuple[int, str]] = set()
    per_contact = [0] * len(contacts)
    visitors = 0
    plans: list[ConversationPlan] = []
    for index, status in enumerate(statuses):
        topic = topics[index]
        first_role = "sales" if "sales" in roles else roles[0]
        channel_key = first_role if index == 0 else _channel_for(topic, rng, roles)
        unassigned = False
        if status == Status.OPEN:
            unassigned = open_seen < 6
            open_seen += 1
        contact_index = -1
        visitor = None
        if channel_key == "chat" and visitors < 3 and index % 2:
            visitors += 1  # someone new, who filled in the chat's form
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
            email = f"{_ascii(name).split()[0]}.{rng.randint(100, 999)}@{rng.choice(EMAIL_DOMAINS)}"
            visitor = (name, email, rng.choice(list(CITIES.values())))
        else:
            eligible = [
                i for i, contact in enumerate(contacts)
                if (i, channel_key) not in used and (channel_key != "email" or contact.email)
            ]
            if not eligible:  # pragma: no cover - 30 contacts × 5 channels is plenty
                channel_key = first_role
                eligible = [i for i in range(len(contacts)) if (i, channel_key) not in used]
            fewest = min(per_contact[i] for i in eligible)
            contact_index = rng.choice([i for i in eligible if per_contact[i] == fewest])
            used.add((contact_index, channel_key))
            per_contact[contact_index] += 1

        # The fixed one runs its whole script before the follow-up.
        turns = list(topic.turns) if index == 0 else _cut(topic.turns, status, unassigned, rng)
        if channel_key == "chat":
            turns.insert(1, (BOT, BOT_GREETING))
        failed_index = None
        pause_before = None
        if index == 0:
            turns.append((OUT, FOLLOW_UP))
            failed_index = pause_before = len(turns) - 1
            turns.append((NOTE, FOLLOW_UP_NOTE))

        assignee_key = None
        if not unassigned:
            weights = {"agent": 5 if channel_key in AGENT_ROLES else 0, "manager": 3, "admin": 2}
            assignee_key = rng.choices(list(weights), weights=list(weights.values()))[0]

        hours_ago = {
            Status.OPEN: rng.uniform(0.1, 6) if unassigned else rng.uniform(0.3, 30),
            Status.PENDING: rng.uniform(3, 96),
            Status.SNOOZED: rng.uniform(6, 72),
            # Leaves room for moving an end out of the night and for the conversation before it.
            Status.RESOLVED: rng.uniform(12, 24 * (HISTORY_DAYS - 1.5)),
        }[status]
        if index == 0:
            hours_ago = rng.uniform(4, 20)
        times = _timeline([kind for kind, _ in turns], _daytime(now - timedelta(hours=hours_ago), rng), rng,
                          pause_before)

        contact_vip = contact_index >= 0 and contacts[contact_index].vip
        priority = topic.priority
        if status == Status.OPEN and rng.random() < 0.1:
            priority = Priority.URGENT
        labels = [*topic.labels, *(["vip"] if contact_vip else []), *(["urgente"] if priority == Priority.URGENT else [])]
        snoozed_until = None
        if status == Status.SNOOZED:
            day = (now + timedelta(days=rng.randint(1, 3))).astimezone(LOCAL_TIME)
            snoozed_until = day.replace(hour=rng.choice((9, 10, 14)), minute=0, second=0, microsecond=0)
        plans.append(ConversationPlan(
            channel_key=channel_key, contact_index=contact_index, topic=topic, status=status,
            assignee_key=assignee_key, turns=turns, times=times, labels=labels, priority=priority,
            snoozed_until=snoozed_until, failed_index=failed_index, visitor=visitor,
            receipts_off=contact_index >= 0 and contact_index % 5 == 2,
        ))
    return plans


# --- Seeding -------------------------------------------------------------------------


@dataclass
class _Seeding:
    """What one tenant's seeding has made so far."""

    spec: DemoTenant
    tenant: Tenant
    rng: random.Random
    now: datetime
    users: dict[str, User]
    channels: dict[str, Channel]
    demo_channels: dict[str, DemoChannelSpec]
    contacts: list[Contact]
    contact_plans: list[ContactPlan]
    teams: dict[str, Team]
    inbound_count: int = 0
    outbound_count: int = 0
    messages: list[Message] = field(default_factory=list)
    conversations: list[Conversation] = field(default_factory=list)


def demo_seed(*, now: datetime | None = None) -> DemoSeedResult:
    """Seed the demo tenants that do not exist yet, and the platform superuser."""
    now = now or timezone.now()
    result = DemoSeedResult(logins=demo_logins())
    missing = [spec for spec in DEMO_TENANTS if not Tenant.objects.filter(slug=spec.slug).exists()]
    result.existing = [spec.slug for spec in DEMO_TENANTS if spec not in missing]
    needs_superuser = not User.objects.filter(email=SUPERUSER_EMAIL).exists()
    if not missing and not needs_superuser:
        return result
    # One hash for every demo login: hashing is deliberately slow (about a second for nine
    # logins), and they share the published password anyway.
    password_hash = make_password(DEMO_PASSWORD)
    if needs_superuser:
        user = user_create(email=SUPERUSER_EMAIL, password=None, full_name=SUPERUSER_NAME, is_staff=True,
                           is_superuser=True)
        User.objects.filter(pk=user.pk).update(password=password_hash)
        result.superuser_created = True
    for spec in missing:
        tenant = demo_seed_tenant(spec=spec, now=now, password_hash=password_hash,
                                  number=DEMO_TENANTS.index(spec) + 1)
        # The history is dated in the past: the reports' figures are replayed from it.
        report_rebuild(tenant=tenant)
        result.created.append(spec.slug)
    return result


def demo_seed_tenant(*, spec: DemoTenant, now: datetime, password_hash: str, number: int = 1) -> Tenant:
    rng = random.Random(f"{DEMO_SEED}-{spec.slug}")
    with transaction.atomic():
        tenant = tenant_create(
            name=spec.name, slug=spec.slug, status=Tenant.Status.ACTIVE, plan="pro",
            max_channels=10, max_agents=20, max_messages_per_month=100_000,
        )
        with tenant_context(tenant):
            users = _seed_members(tenant=tenant, spec=spec, password_hash=password_hash)
            demo_channels = dict((demo.role, demo) for _kind, demo in demo_channel_specs(spec=spec, number=number))
            channels = _seed_channels(tenant=tenant, spec=spec, users=users, number=number)
            teams = _seed_workspace(tenant=tenant, users=users)
            contact_plans = _plan_contacts(rng)
            contacts = [_seed_contact(tenant=tenant, plan=plan, now=now) for plan in contact_plans]
            seeding = _Seeding(spec=spec, tenant=tenant, rng=rng, now=now, users=users, channels=channels,
                               demo_channels=demo_channels, contacts=contacts, contact_plans=contact_plans,
                               teams=teams)
            for plan in _plan_conversations(rng, contact_plans, now, roles=list(channels)):
                _seed_conversation(seeding, plan)
            _backdate(seeding)
    return tenant


def _seed_members(*, tenant: Tenant, spec: DemoTenant, password_hash: str) -> dict[str, User]:
    users: dict[str, User] = {}
    for key, role in ROLE_OF.items():
        email = f"{key}@{spec.slug}.test"
        user = User.objects.filter(email=email).first()
        if user is None:
            user = user_create(email=email, password=None, full_name=spec.people[key])
            User.objects.filter(pk=user.pk).update(password=password_hash)
        membership_create(tenant=tenant, user=user, role=role)
        users[key] = user
    return users


def _seed_channels(*, tenant: Tenant, spec: DemoTenant, users: dict[str, User], number: int) -> dict[str, Channel]:
    """The providers' demo channels, by role (the first provider to claim a role has it)."""
    admin = users["admin"]
    channels: dict[str, Channel] = {}
    for kind, demo in demo_channel_specs(spec=spec, number=number):
        if demo.role in channels:
            continue
        # Demo accounts are not real: nothing to check with a provider.
        channel = channel_create(tenant=tenant, actor=admin, kind=kind, name=demo.name, config=demo.config,
                                 credentials=demo.credentials, verify=False)
        if channel.status != Channel.Status.CONNECTED:
            channel_set_status(channel=channel, status=Channel.Status.CONNECTED,
                               detail="Canal de demonstração: nenhuma conexão real com o provedor.")
        channels[demo.role] = channel
    for role in AGENT_ROLES:
        if role in channels:
            channel_access_grant(channel=channels[role], user=users["agent"], actor=admin)
    for role in VIEWER_ROLES:
        if role in channels:
            channel_access_grant(channel=channels[role], user=users["viewer"], actor=admin)
    return channels


def _seed_workspace(*, tenant: Tenant, users: dict[str, User]) -> dict[str, Team]:
    # Through the services, as an admin would on the settings pages (so they are in the audit log).
    admin = users["admin"]
    teams: dict[str, Team] = {}
    for name, member_keys in TEAMS.items():
        teams[name] = team_create(tenant=tenant, actor=admin, name=name, members=[users[key] for key in member_keys])
    for name, colour in LABEL_COLOURS.items():
        label_create(tenant=tenant, actor=admin, name=name, color=colour)
    for code, content in CANNED_RESPONSES.items():
        canned_response_create(tenant=tenant, actor=admin, short_code=code,
                               content=content.format(empresa=tenant.name, slug=tenant.slug))
    return teams


def _external_id(*, demo: DemoChannelSpec, contact: ContactPlan, index: int) -> str:
    return demo.address(digits=contact.e164.lstrip("+"), email=contact.email, index=index)


def _seed_contact(*, tenant: Tenant, plan: ContactPlan, now: datetime) -> Contact:
    attributes: dict[str, Any] = {"cidade": plan.city}
    if plan.vip:
        attributes["vip"] = True
    return contact_create(
        tenant=tenant, actor=None, name=plan.name, phone=plan.phone_input, email=plan.email,
        language=plan.language, attributes=attributes,
        consent_at=now - timedelta(days=plan.created_days_ago) if plan.consent_source else None,
        consent_source=plan.consent_source,
    )


def _link_identity(*, seeding: _Seeding, contact: Contact, channel: Channel, external_id: str) -> None:
    """Record a known contact's address on a channel, so that their messages there land on
    them. contact_identity_resolve() only ever makes a new contact for a new address, and
    no service attaches an address to an existing contact yet."""
    ContactIdentity.all_objects.get_or_create(
        channel=channel, external_id=external_id, defaults={"tenant": seeding.tenant, "contact": contact}
    )


def _fill(text: str, values: dict[str, str]) -> str:
    return text.format(**values)


def _values(seeding: _Seeding, plan: ConversationPlan, name: str, city: str) -> dict[str, str]:
    rng = seeding.rng
    first = plan.times[0]
    agent = seeding.users[plan.assignee_key or "manager"]
    masculine, product = rng.choice(PRODUCTS)
    order = rng.randint(100000, 999999)
    return {
        "nome": name.split()[0],
        "atendente": agent.get_short_name(),
        "empresa": seeding.tenant.name,
        "slug": seeding.tenant.slug,
        "cidade": city.split("/")[0].split(",")[0],
        "produto": product,
        "o_produto": f"{'o' if masculine else 'a'} {product}",
        "um_produto": f"{'um' if masculine else 'uma'} {product}",
        "Meu_produto": f"{'Meu' if masculine else 'Minha'} {product}",
        "pedido": f"#{order}",
        "pedido_numero": str(order),
        "valor": f"{rng.randint(49, 899)},{rng.choice(('00', '90', '99', '50'))}",
        "valor_grande": f"{rng.randint(2, 19)}.{rng.randint(100, 999)},00",
        "rastreio": f"{rng.choice(('QB', 'NX', 'OS', 'LB'))}{rng.randint(100000000, 999999999)}BR",
        "data_compra": (first - timedelta(days=rng.randint(8, 20))).strftime("%d/%m"),
        "data_entrega": (first + timedelta(days=rng.randint(3, 9))).strftime("%d/%m"),
    }


def _seed_conversation(seeding: _Seeding, plan: ConversationPlan) -> None:
    tenant = seeding.tenant
    channel = seeding.channels[plan.channel_key]
    if plan.visitor is not None:
        name, email, city = plan.visitor
        external_id = f"visitor-new-{seeding.inbound_count:05d}"
        contact_fields = {"contact_name": name, "contact_email": email}
    else:
        contact_plan = seeding.contact_plans[plan.contact_index]
        name, city = contact_plan.name, contact_plan.city
        external_id = _external_id(demo=seeding.demo_channels[plan.channel_key], contact=contact_plan,
                                   index=plan.contact_index)
        _link_identity(seeding=seeding, contact=seeding.contacts[plan.contact_index], channel=channel,
                       external_id=external_id)
        contact_fields = {}
    values = _values(seeding, plan, name, city)
    assignee = seeding.users[plan.assignee_key] if plan.assignee_key else None
    author = assignee or seeding.users["manager"]

    conversation: Conversation | None = None
    created: list[Message] = []
    for kind, text in plan.turns:
        content = _fill(text, values)
        if kind == IN:
            seeding.inbound_count += 1
            message, _ = message_receive(channel=channel, message=IncomingMessage(
                contact_external_id=external_id, content=content,
                provider_message_id=f"demo-{tenant.slug}-{seeding.inbound_count}", **contact_fields,
            ))
            if conversation is None:
                conversation = message.conversation
                conversation.channel, conversation.tenant = channel, tenant  # reuse, no re-query
            # The service moved the counters with an update; the reply's window check reads this.
            conversation.last_inbound_at = message.created_at
        else:
            assert conversation is not None, "scripts start with the customer"
            message, _ = message_send(
                conversation=conversation, actor=None if kind == BOT else author, content=content,
                private=kind == NOTE, sender_type=Message.SenderType.BOT if kind == BOT else Message.SenderType.AGENT,
            )
        created.append(message)
    assert conversation is not None
    conversation.refresh_from_db()
    conversation_update(
        conversation=conversation, actor=seeding.users["manager"], status=plan.status,
        snoozed_until=plan.snoozed_until, assignee=assignee, team=seeding.teams.get(plan.topic.team),
        labels=plan.labels, priority=plan.priority,
    )
    _plan_history(seeding, plan, conversation, created)


def _plan_history(seeding: _Seeding, plan: ConversationPlan, conversation: Conversation,
                  created: list[Message]) -> None:
    """Give the messages their place in the past and what happened to them since."""
    rng, now = seeding.rng, seeding.now
    read_receipts = seeding.demo_channels[plan.channel_key].read_receipts
    for index, (message, when) in enumerate(zip(created, plan.times, strict=True)):
        message.created_at = message.updated_at = when
        if message.direction == Message.Direction.INBOUND or message.private:
            continue
        seeding.outbound_count += 1
        message.provider_message_id = f"demo-{seeding.tenant.slug}-out-{seeding.outbound_count}"
        message.sent_at = when + timedelta(seconds=rng.randint(1, 3))
        if index == plan.failed_index:
            message.status = Message.Status.FAILED
            message.error_code, message.error_message = (
                seeding.demo_channels[plan.channel_key].reply_window_error or REENGAGEMENT_ERROR)
            message.updated_at = message.sent_at
            continue
        message.delivered_at = message.sent_at + timedelta(seconds=rng.randint(1, 20))
        later_inbound = next(
            (t for m, t in zip(created[index + 1:], plan.times[index + 1:], strict=True)
             if m.direction == Message.Direction.INBOUND), None,
        )
        age = now - when
        # Some customers turn their read receipts off: their messages stay delivered.
        if read_receipts and not plan.receipts_off and (later_inbound is not None or age > timedelta(hours=2)):
            latest = later_inbound or min(now, when + timedelta(hours=3))
            seconds = max(5, int((latest - message.delivered_at).total_seconds() * 0.8))
            message.read_at = message.delivered_at + timedelta(seconds=rng.randint(min(5, seconds), seconds))
            message.status = Message.Status.READ
        elif age < timedelta(minutes=10) or plan.channel_key == "integration":
            message.status = Message.Status.SENT
            message.delivered_at = None
        else:
            message.status = Message.Status.DELIVERED
        message.updated_at = message.read_at or message.delivered_at or message.sent_at
    seeding.messages.extend(created)

    inbound_times = [t for m, t in zip(created, plan.times, strict=True) if m.direction == Message.Direction.INBOUND]
    conversation.created_at = plan.times[0]
    conversation.last_activity_at = conversation.updated_at = plan.times[-1]
    conversation.last_inbound_at = inbound_times[-1]
    unread = 0
    if plan.status == Conversation.Status.OPEN:
        for message in reversed(created):  # the customer's messages since the team last looked
            if message.direction != Message.Direction.INBOUND:
                if message.sender_type != Message.SenderType.BOT:
                    break
                continue
            unread += 1
    conversation.unread_count = unread
    seeding.conversations.append(conversation)


def _backdate(seeding: _Seeding) -> None:
    Message.all_objects.bulk_update(
        seeding.messages,
        ["created_at", "updated_at", "sent_at", "delivered_at", "read_at", "status", "error_code", "error_message",
         "provider_message_id"],
        batch_size=200,
    )
    Conversation.all_objects.bulk_update(
        seeding.conversations, ["created_at", "updated_at", "last_activity_at", "last_inbound_at", "unread_count"],
        batch_size=200,
    )
    for conversation in seeding.conversations:  # resolved when last active, as the reports tell
        TenantEvent.all_objects.filter(conversation_id=conversation.pk, name=ConversationStatusChanged.name).update(
            created_at=conversation.last_activity_at)
    first_seen: dict[int, datetime] = {}
    for conversation in seeding.conversations:
        seen = first_seen.get(conversation.contact_id)
        first_seen[conversation.contact_id] = conversation.created_at if seen is None else min(seen, conversation.created_at)
    planned = {contact.pk: plan for contact, plan in zip(seeding.contacts, seeding.contact_plans, strict=True)}
    contacts = list(Contact.all_objects.filter(tenant=seeding.tenant))
    for contact in contacts:
        seen = first_seen.get(contact.pk, seeding.now)
        plan = planned.get(contact.pk)
        # Known customers were registered long ago; site visitors the minute they wrote.
        contact.created_at = seeding.now - timedelta(days=plan.created_days_ago) if plan else seen - timedelta(minutes=1)
        contact.updated_at = seen
    Contact.all_objects.bulk_update(contacts, ["created_at", "updated_at"], batch_size=200)
    registered = {contact.pk: contact.created_at for contact in contacts}
    first_written = {(c.contact_id, c.channel_id): c.created_at for c in seeding.conversations}
    identities = list(ContactIdentity.all_objects.filter(tenant=seeding.tenant))
    for identity in identities:
        written = first_written.get((identity.contact_id, identity.channel_id), seeding.now)
        identity.created_at = max(registered[identity.contact_id], written - timedelta(minutes=1))
    ContactIdentity.all_objects.bulk_update(identities, ["created_at"], batch_size=200)
