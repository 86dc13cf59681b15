// E-mail messages, Portuguese. Same keys and placeholders as en.ts.
// Written to read naturally in both Portugal and Brazil (no "você"/"tu", third-person forms).
import type { Catalog } from './en.ts';

export const pt: Catalog = {
  'greeting': 'Olá, {account_name},',
  'greeting.operator': 'Olá,',
  'closing': 'Com os melhores cumprimentos,\nA equipa de faturação',
  'footer': 'Esta mensagem sobre a assinatura de {account_name} foi enviada automaticamente.',
  'footer.operator': 'Esta mensagem foi enviada automaticamente pelo renewd.',
  'why': 'Motivo: {reason}.',
  'access': 'Continua com acesso completo ao seu plano até {grace_ends_at}. Se o pagamento não for concluído até lá, a sua conta passará para o plano gratuito.',
  'todo': "O que fazer: atualize o seu cartão em Dados de cobrança (ligação abaixo). Assim que o novo cartão for guardado, tentamos novamente o pagamento.",
  'next_retry': 'Também tentaremos novamente de forma automática em {next_retry_at}.',
  'todo.retry': "Se o cartão voltar a funcionar (por exemplo, porque adicionou fundos), também pode tentar novamente o pagamento de imediato (ligação abaixo).",
  'todo.help': "Uma pergunta sobre este pagamento? Peça ajuda (ligação abaixo): a nossa equipa vê a fatura e a resposta do banco.",
  'days.one': '{n} dia',
  'days.few': '{n} dias',
  'days.many': '{n} de dias',
  'days.other': '{n} dias',

  'label.row': '{label}: {value}',
  'label.plan': 'Plano',
  'label.amount': 'Valor',
  'label.paid_until': 'Pago até',
  'label.payment_method': 'Meio de pagamento',
  'label.invoice': 'Fatura',
  'label.access_until': 'Acesso completo até',
  'label.next_retry': 'Próxima tentativa automática',
  'label.request': 'Referência do pedido',
  'link.portal': 'Abrir a minha assinatura',
  'link.billing': "Atualizar o meu cartão",
  'link.authenticate': 'Autenticar o pagamento',
  'link.history': 'Ver o meu histórico de compras',
  'link.invoice': 'Descarregar a minha fatura (PDF)',
  'link.restore': "Repor o meu plano", // the downgrade e-mail's way back (/portal#restore)
  'link.retry': "Tentar novamente o pagamento",
  'link.help': "Pedir ajuda",

  'reason.credit_limit': 'o limite de crédito do cartão foi atingido',
  'reason.card_expired_or_inactive': 'o cartão expirou ou não está ativo',
  'reason.insufficient_funds': 'o saldo da conta associada ao cartão era insuficiente',
  'reason.issuer_unavailable': 'o banco emissor do cartão estava indisponível',
  'reason.payment_system_failure': 'o sistema de pagamento teve uma falha técnica',
  'reason.authentication_required': 'o banco emissor do cartão pede a autenticação do pagamento',
  'reason.declined_by_bank': 'o banco emissor do cartão recusou o pagamento',

  'purchase_succeeded.subject': 'Recibo: a sua assinatura {plan_name} começou',

  'purchase_succeeded.body': 'Obrigado! O pagamento da sua assinatura {plan_name} foi concluído e a assinatura é válida até {period_end}.',

  'purchase_succeeded.body_short': 'Obrigado! O pagamento da sua assinatura {plan_name} foi concluído e a assinatura começou.',

  'renewal_succeeded.subject': 'Recibo: a sua assinatura {plan_name} foi renovada',
  'renewal_succeeded.body': 'Obrigado! O pagamento da sua assinatura {plan_name} foi concluído e a assinatura foi renovada até {period_end}.',
  'renewal_succeeded.body_short': 'Obrigado! O pagamento da sua assinatura {plan_name} foi concluído e a assinatura foi renovada.',

  'retry_succeeded.subject': 'Pagamento recebido: a sua assinatura {plan_name} foi renovada',
  'retry_succeeded.body': 'Boas notícias: o pagamento que tinha falhado foi agora concluído. A sua assinatura {plan_name} foi renovada até {period_end}; não é necessário fazer mais nada.',
  'retry_succeeded.body_short': 'Boas notícias: o pagamento que tinha falhado foi agora concluído. A sua assinatura {plan_name} foi renovada; não é necessário fazer mais nada.',

  'renewal_failed.subject': 'Ação necessária: o pagamento da sua assinatura {plan_name} falhou',
  'renewal_failed.body_amount': 'Não foi possível renovar a sua assinatura {plan_name}: o pagamento de {amount} falhou.',
  'renewal_failed.body': 'Não foi possível renovar a sua assinatura {plan_name}: o pagamento falhou.',

  'retry_failed.subject': 'O pagamento da sua assinatura {plan_name} voltou a falhar',
  'retry_failed.body_amount': 'Tentámos novamente cobrar {amount} pela sua assinatura {plan_name}, mas o pagamento falhou.',
  'retry_failed.body': 'Tentámos novamente cobrar o pagamento da sua assinatura {plan_name}, mas falhou.',

  'authentication_required.subject': 'Autentique o pagamento da sua assinatura {plan_name}',
  'authentication_required.body_amount': 'O seu banco pede que autentique o pagamento de {amount} pela sua assinatura {plan_name}. Não o podemos concluir sem a sua confirmação.',
  'authentication_required.body': 'O seu banco pede que autentique o pagamento da sua assinatura {plan_name}. Não o podemos concluir sem a sua confirmação.',
  'authentication_required.todo': "Siga a ligação abaixo para autenticar o pagamento; leva apenas um momento. Para pagar com outro cartão, atualize o seu cartão em Dados de cobrança (ligação abaixo).",

  'card_expiring.subject': 'O seu cartão expira antes da próxima renovação',
  'card_expiring.body_card': 'O seu cartão {card} (válido até {expiry}) expira antes da renovação da sua assinatura {plan_name} em {period_end}.',
  'card_expiring.body': 'O cartão registado expira antes da renovação da sua assinatura {plan_name} em {period_end}.',
  'card_expiring.todo': "Para manter a sua assinatura sem interrupções, adicione um novo cartão em Dados de cobrança (ligação abaixo).",

  'renewal_upcoming.subject': 'A sua assinatura {plan_name} é renovada em {period_end}',
  'renewal_upcoming.body': 'A sua assinatura anual {plan_name} será renovada automaticamente em {period_end}.',
  'renewal_upcoming.amount_card': 'Cobraremos {amount} no seu cartão {card}.',
  'renewal_upcoming.amount': 'O valor será de {amount}.',
  'renewal_upcoming.todo': "Não precisa de fazer nada se os seus dados de cobrança estiverem atualizados. Pode verificá-los na sua assinatura (ligação abaixo).",

  'grace_ending.subject': 'Lembrete: daqui a {days}, perderá o seu plano {plan_name}',
  'grace_ending.body': 'O pagamento da sua assinatura {plan_name} ainda não foi concluído. Continua com acesso completo até {grace_ends_at}, ou seja, durante mais {days}; depois disso, a sua conta passará para o plano gratuito.',
  'grace_ending.body_short': 'O pagamento da sua assinatura {plan_name} ainda não foi concluído. Continua com acesso completo durante mais {days}; depois disso, a sua conta passará para o plano gratuito.',

  'downgraded.subject': 'A sua conta passou para o plano gratuito',
  'downgraded.body': 'O pagamento da sua assinatura {plan_name} não foi concluído antes do fim do período de carência, por isso a sua conta passou para o plano gratuito.',
  'downgraded.invoice': 'A fatura por pagar {invoice_id} foi encerrada: não lhe será cobrada.',
  'downgraded.restore': "Os seus dados são mantidos. Para recuperar {plan_name}, carregue em «Repor {plan_name}» na página da sua subscrição: nesse dia começa um novo período e as funcionalidades pagas voltam de imediato. Nunca lhe é cobrado o tempo no plano gratuito.",

  // ---- subscription_canceled ----
  'subscription_canceled.subject': "A sua assinatura {plan_name} foi cancelada",
  'subscription_canceled.body_until': "Como pediu, a sua assinatura {plan_name} não será renovada. Mantém as funcionalidades pagas até {access_until}; depois, a sua conta passa para o plano gratuito.",
  'subscription_canceled.body_now': "Como pediu, a sua assinatura {plan_name} foi cancelada e a sua conta passou para o plano gratuito.",
  'subscription_canceled.paid_in_flight': "Um pagamento de {paid_amount} já estava em curso quando cancelou e foi concluído: cobre o seu plano até {access_until} e é o último.",
  'subscription_canceled.invoice': "A fatura por pagar {invoice_id} foi encerrada: não lhe será cobrada.",
  'subscription_canceled.no_charge': "Não será cobrado mais nenhum pagamento.",
  'subscription_canceled.resume': "Mudou de ideias? Pode retomar a assinatura em Assinatura até {access_until}.",
  'subscription_canceled.restore': "Os seus dados são mantidos. Para voltar, faça uma nova compra em Assinatura quando quiser.",

  // ---- plan_changed ----
  'plan_changed.subject': "A sua mudança de plano para {plan_name}",
  'plan_changed.body_scheduled': "A sua assinatura muda para {plan_name} em {change_at}. Até lá nada muda; a partir daí é renovada por {amount}.",
  'plan_changed.body_now': "A sua assinatura está agora no plano {plan_name}.",
  'plan_changed.charged': "Cobrámos {paid_amount} pelo resto do período atual, que termina em {period_end}.",
  'plan_changed.grace': "A fatura por pagar é substituída por uma de {amount} para {plan_name}, para o mesmo período, que cobramos agora. O seu período de carência continua a terminar em {grace_ends_at}.",
  'plan_changed.unschedule': "Para anular esta mudança, escolha de novo o seu plano atual em Assinatura antes de {change_at}.",

  'help_request_received.subject': 'Recebemos o seu pedido de ajuda',
  'help_request_received.body_invoice': 'Obrigado pela sua mensagem. A nossa equipa recebeu o seu pedido sobre a fatura {invoice_id}, com as respetivas tentativas de pagamento e os motivos indicados pelo banco, e irá responder por e-mail.',
  'help_request_received.body': 'Obrigado pela sua mensagem. A nossa equipa recebeu o seu pedido e irá responder por e-mail.',

  'help_request_answered.subject': 'A nossa resposta ao seu pedido de ajuda',
  'help_request_answered.body': 'A nossa equipa respondeu ao seu pedido de ajuda:',
  'help_request_answered.more': 'Se tiver outra pergunta, pode enviar um novo pedido a partir de Assinatura → Histórico de compras.',

  'webhook_endpoint_disabled.subject': 'Endpoint de webhook desativado: {endpoint_url}',
  'webhook_endpoint_disabled.body_since': 'Os envios para o endpoint de webhook {endpoint_url} falham sem interrupção desde {failing_since}, por isso foi desativado. Não lhe serão enviados mais eventos.',
  'webhook_endpoint_disabled.body': 'Os envios para o endpoint de webhook {endpoint_url} falhavam repetidamente, por isso foi desativado. Não lhe serão enviados mais eventos.',
  'webhook_endpoint_disabled.last_error': 'Último erro: {last_error}',
  'webhook_endpoint_disabled.todo': 'Corrija o recetor e volte a ativar o endpoint {endpoint_id} na consola ou com PATCH /v1/webhook-endpoints/{endpoint_id} e o estado "enabled". Os envios ainda pendentes serão então retomados.',

  // ---- access_link: a new no-login link the customer asked for ----
  'access_link.subject': "A sua ligação para a sua assinatura",
  'access_link.body': "Pediu uma nova ligação para as páginas da sua assinatura. Abra-as com o botão abaixo; não é necessária palavra-passe.",
  'access_link.expires': "A ligação funciona até {link_expires_at}. Depois disso, a página que abre permite pedir uma nova.",
  'access_link.ignore': "Se não a pediu, pode ignorar este e-mail: nada mudou na sua conta.",

  // ---- invoice and credit-note documents (PDF, issue 23) ----
  'doc.invoice': "Fatura",
  'doc.credit_note': "Nota de crédito",
  'doc.number': "Número",
  'doc.issued_on': "Data de emissão",
  'doc.seller': "Emitente",
  'doc.buyer': "Faturar a",
  'doc.vat_id': "NIF: {vat_id}",
  'doc.description': "Descrição",
  'doc.amount': "Valor",
  'doc.interval.month': "mensal",
  'doc.interval.year': "anual",
  'doc.line.subscription': "Assinatura {plan_name} ({interval})",
  'doc.line.period': "{start} – {end}",
  'doc.line.proration': "{plan_name}, resto do período (proporcional)",
  'doc.line.credit': "Tempo não utilizado de {plan_name}",
  'doc.net': "Total sem impostos",
  'doc.tax': "IVA ({rate})",
  'doc.total': "Total",
  'doc.prices_include_tax': "Preços com impostos incluídos.",
  'doc.paid': "Paga em {date} com {card}.",
  'doc.paid_no_card': "Paga em {date}.",
  'doc.due': "Pagamento devido: esta fatura não está paga.",
  'doc.uncollectible': "Não paga: esta fatura foi encerrada como incobrável.",
  'doc.cancelled': "Anulada pela nota de crédito {number} de {date}.",
  'doc.credit.for': "Anula a fatura {number} de {date}.",
  'doc.credit.reason.canceled': "A assinatura foi cancelada enquanto esta fatura estava por pagar.",
  'doc.credit.reason.plan_changed': "O plano foi alterado enquanto esta fatura estava por pagar; uma nova fatura substitui-a.",
  'doc.credit.reason.voided': "A fatura foi anulada.",
  'doc.credited': "Valor creditado",
};
