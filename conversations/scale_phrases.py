"""What the scale seed's messages say (conversations.scale): Brazilian Portuguese sentences of a
shop's support, a customer's and an agent's, combined two by two into messages, with order numbers
and amounts filled in per message. Enough variety for the words search (`boleto`, `pedido`,
`entrega`, `pix`, a number...) to find some conversations and not others."""

from __future__ import annotations

# {n}: an order number, {v}: an amount, {d}: a day of the month (filled per message in SQL).
CUSTOMER_OPENERS = (
    "Olá, boa tarde!", "Oi, tudo bem?", "Bom dia.", "Boa noite, preciso de ajuda.", "Olá!",
    "Oi, sou cliente de vocês há anos.", "Bom dia, tudo certo?", "Com licença,", "Oi de novo.",
    "Olá, equipe.", "Ei, alguém aí?", "Boa tarde, pessoal.",
)
CUSTOMER_SENTENCES = (
    "Meu pedido {n} ainda não chegou.", "Quero saber o prazo de entrega do pedido {n}.",
    "Preciso da segunda via do boleto do pedido {n}.", "O boleto venceu no dia {d}, posso pagar ainda?",
    "Paguei o pix de R$ {v} e não apareceu a confirmação.", "A entrega atrasou de novo, já são {d} dias.",
    "O produto veio com defeito, quero trocar.", "Como faço para cancelar o pedido {n}?",
    "O código de rastreio não funciona no site dos Correios.", "Vocês entregam em Campinas?",
    "Recebi a cobrança duas vezes no cartão, valor de R$ {v}.", "Quero devolver o tênis, ficou apertado.",
    "Qual é o horário de atendimento da loja?", "A nota fiscal do pedido {n} não veio no e-mail.",
    "Consigo parcelar em 10 vezes sem juros?", "O entregador disse que ninguém estava em casa, mas eu estava.",
    "Troquei de endereço, dá para mudar a entrega do pedido {n}?", "Meu cupom de desconto não funcionou.",
    "A geladeira chegou amassada na lateral.", "Quanto custa o frete para Salvador?",
    "Ainda tem o modelo azul em estoque?", "Fiz a compra pelo aplicativo e o pagamento ficou pendente.",
    "O reembolso de R$ {v} já foi feito?", "Esqueci a senha da minha conta, não consigo entrar.",
    "O boleto não abre no aplicativo do banco.", "Quero falar com um atendente, por favor.",
    "Já mandei a foto do defeito ontem.", "Pode confirmar o endereço de entrega?",
    "A garantia cobre a tela quebrada?", "O pedido {n} aparece como entregue, mas não recebi nada.",
    "Vocês aceitam pix parcelado?", "Comprei dois e veio só um.", "Qual é o CNPJ de vocês para a nota?",
    "O carregador parou de funcionar depois de {d} dias.", "Tem loja física em Belo Horizonte?",
    "Meu nome é João e o pedido está no nome da minha esposa.", "A conceição do financeiro pediu o comprovante.",
    "Obrigado, resolveu!", "Ok, vou aguardar.", "Certo, muito obrigada.", "Ainda não resolveu, continuo sem resposta.",
    "Mandei o comprovante agora.", "Pode ser amanhã de manhã.", "Perfeito, combinado.",
)
AGENT_SENTENCES = (
    "Olá! Aqui é da equipe de atendimento, como posso ajudar?", "Vou verificar o pedido {n} para você.",
    "O prazo de entrega é de 3 a 5 dias úteis para capitais.", "Segue a segunda via do boleto, vencimento dia {d}.",
    "O pagamento de R$ {v} foi confirmado agora há pouco.", "Sinto muito pelo atraso na entrega.",
    "Pode me enviar uma foto do produto com defeito?", "Abri a solicitação de troca do pedido {n}.",
    "O cancelamento foi feito e o estorno aparece em até duas faturas.",
    "O código de rastreio foi reenviado para o seu e-mail.", "Entregamos em todo o Brasil, sim.",
    "Identifiquei a cobrança duplicada e já pedi o estorno de R$ {v}.",
    "Você tem até 7 dias após o recebimento para pedir a devolução.",
    "Nosso atendimento funciona de segunda a sexta, das 8h às 18h.", "A nota fiscal foi reenviada.",
    "Parcelamos em até 10 vezes sem juros no cartão.", "Vou registrar uma reclamação com a transportadora.",
    "O endereço de entrega do pedido {n} foi atualizado.", "O cupom vale só para compras acima de R$ {v}.",
    "A coleta do produto fica agendada para o dia {d}.", "O frete para Salvador sai por R$ {v}.",
    "Temos o modelo azul em estoque, sim.", "O reembolso foi processado, confira em até 5 dias úteis.",
    "Enviei o link para criar uma nova senha.", "Transferi para o setor financeiro, eles respondem ainda hoje.",
    "A garantia de 12 meses cobre defeitos de fabricação.", "Posso ajudar em algo mais?",
    "Obrigado pelo contato! Se precisar, é só chamar.", "Vou encerrar este atendimento, tudo bem?",
    "Confirmo o endereço: Rua das Flores, {d}.", "Aceitamos pix à vista com 5% de desconto.",
    "O segundo item saiu em outra caixa, chega até o dia {d}.",
    "Nosso CNPJ está no rodapé do site e na nota fiscal.", "Temos lojas em São Paulo, Rio e Belo Horizonte.",
)

FIRST_NAMES = (
    "João", "Maria", "José", "Ana", "Antônio", "Francisca", "Carlos", "Antônia", "Paulo", "Adriana",
    "Pedro", "Juliana", "Lucas", "Márcia", "Luiz", "Fernanda", "Marcos", "Patrícia", "Luís", "Aline",
    "Gabriel", "Sandra", "Rafael", "Camila", "Daniel", "Amanda", "Marcelo", "Bruna", "Bruno", "Letícia",
    "Eduardo", "Júlia", "Felipe", "Luciana", "Raimundo", "Vanessa", "Rodrigo", "Mariana", "Conceição",
    "Gustavo", "Beatriz", "André", "Larissa", "Tiago", "Sebastião", "Vitória", "Cláudio", "Débora",
)
LAST_NAMES = (
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima",
    "Gomes", "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes",
    "Vieira", "Barbosa", "Rocha", "Dias", "Nascimento", "Andrade", "Moreira", "Nunes", "Marques",
    "Machado", "Mendes", "Freitas", "Cardoso", "Ramos", "Gonçalves", "Santana", "Teixeira", "Araújo",
    "Conceição", "Magalhães", "Brandão", "Falcão",
)
# Area codes of Brazilian phone numbers.
AREA_CODES = (11, 21, 31, 41, 51, 61, 71, 81, 85, 91, 19, 27, 48, 62, 92)
LABELS = ("vip", "financeiro", "troca", "urgente", "orçamento", "entrega", "garantia", "cancelamento",
          "reclamação", "atacado")
