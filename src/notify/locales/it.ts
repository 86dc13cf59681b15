// E-mail messages, Italian. Same keys and placeholders as en.ts.
// Dates follow "in data" / "fino al giorno" so that "8 marzo" never needs an elision.
import type { Catalog } from './en.ts';

export const it: Catalog = {
  'greeting': 'Gentile {account_name},',
  'greeting.operator': 'Buongiorno,',
  'closing': 'Cordiali saluti,\nIl team di fatturazione',
  'footer': "Questo messaggio relativo all'abbonamento di {account_name} è stato inviato automaticamente.",
  'footer.operator': 'Questo messaggio è stato inviato automaticamente da renewd.',
  'why': 'Motivo: {reason}.',
  'access': 'Mantiene l\'accesso completo al suo piano fino al giorno {grace_ends_at}. Se entro quella data il pagamento non sarà andato a buon fine, il suo account passerà al piano gratuito.',
  'todo': "Cosa fare: aggiorni la carta in Dati di fatturazione (link qui sotto). Non appena la nuova carta sarà salvata, ritenteremo il pagamento.",
  'next_retry': 'Ritenteremo inoltre automaticamente in data {next_retry_at}.',
  'todo.retry': "Se la carta ora funziona di nuovo (ad esempio perché ha aggiunto fondi), può anche ritentare subito il pagamento (link qui sotto).",
  'todo.help': "Una domanda su questo pagamento? Chieda aiuto (link qui sotto): il nostro team vede la fattura e la risposta della banca.",
  'days.one': '{n} giorno',
  'days.few': '{n} giorni',
  'days.many': '{n} di giorni',
  'days.other': '{n} giorni',

  'label.row': '{label}: {value}',
  'label.plan': 'Piano',
  'label.amount': 'Importo',
  'label.paid_until': 'Pagato fino al giorno',
  'label.payment_method': 'Metodo di pagamento',
  'label.invoice': 'Fattura',
  'label.access_until': 'Accesso completo fino al giorno',
  'label.next_retry': 'Prossimo tentativo automatico',
  'label.request': 'Riferimento della richiesta',
  'link.portal': 'Apri il mio abbonamento',
  'link.billing': "Aggiorna la mia carta",
  'link.authenticate': 'Autentica il pagamento',
  'link.history': 'Vedi la cronologia acquisti',
  'link.invoice': 'Scarica la mia fattura (PDF)',
  'link.restore': "Ripristina il mio piano", // the downgrade e-mail's way back (/portal#restore)
  'link.retry': "Ritenta il pagamento",
  'link.help': "Chiedi aiuto",

  'reason.credit_limit': 'è stato raggiunto il limite di credito della carta',
  'reason.card_expired_or_inactive': 'la carta è scaduta o non è attiva',
  'reason.insufficient_funds': 'i fondi sul conto collegato alla carta erano insufficienti',
  'reason.issuer_unavailable': 'la banca che ha emesso la carta non era raggiungibile',
  'reason.payment_system_failure': 'il sistema di pagamento ha avuto un guasto tecnico',
  'reason.authentication_required': 'la banca che ha emesso la carta le chiede di autenticare il pagamento',
  'reason.declined_by_bank': 'la banca che ha emesso la carta ha rifiutato il pagamento',

  'purchase_succeeded.subject': 'Ricevuta: il suo abbonamento {plan_name} è attivo',

  'purchase_succeeded.body': "Grazie! Il pagamento del suo abbonamento {plan_name} è andato a buon fine e l'abbonamento è attivo fino al giorno {period_end}.",

  'purchase_succeeded.body_short': "Grazie! Il pagamento del suo abbonamento {plan_name} è andato a buon fine e l'abbonamento è attivo.",

  'renewal_succeeded.subject': 'Ricevuta: il suo abbonamento {plan_name} è stato rinnovato',
  'renewal_succeeded.body': 'Grazie! Il pagamento del suo abbonamento {plan_name} è andato a buon fine e l\'abbonamento è stato rinnovato fino al giorno {period_end}.',
  'renewal_succeeded.body_short': 'Grazie! Il pagamento del suo abbonamento {plan_name} è andato a buon fine e l\'abbonamento è stato rinnovato.',

  'retry_succeeded.subject': 'Pagamento ricevuto: il suo abbonamento {plan_name} è stato rinnovato',
  'retry_succeeded.body': 'Buone notizie: il pagamento che non era riuscito è ora andato a buon fine. Il suo abbonamento {plan_name} è stato rinnovato fino al giorno {period_end}; non deve fare nient\'altro.',
  'retry_succeeded.body_short': 'Buone notizie: il pagamento che non era riuscito è ora andato a buon fine. Il suo abbonamento {plan_name} è stato rinnovato; non deve fare nient\'altro.',

  'renewal_failed.subject': 'Azione richiesta: il pagamento del suo abbonamento {plan_name} non è riuscito',
  'renewal_failed.body_amount': 'Non è stato possibile rinnovare il suo abbonamento {plan_name}: il pagamento di {amount} non è riuscito.',
  'renewal_failed.body': 'Non è stato possibile rinnovare il suo abbonamento {plan_name}: il pagamento non è riuscito.',

  'retry_failed.subject': 'Il pagamento del suo abbonamento {plan_name} non è riuscito di nuovo',
  'retry_failed.body_amount': 'Abbiamo riprovato ad addebitare {amount} per il suo abbonamento {plan_name}, ma il pagamento non è riuscito.',
  'retry_failed.body': 'Abbiamo riprovato ad addebitare il pagamento del suo abbonamento {plan_name}, ma non è riuscito.',

  'authentication_required.subject': 'Autentichi il pagamento del suo abbonamento {plan_name}',
  'authentication_required.body_amount': 'La sua banca le chiede di autenticare il pagamento di {amount} per il suo abbonamento {plan_name}. Non possiamo completarlo senza di lei.',
  'authentication_required.body': 'La sua banca le chiede di autenticare il pagamento del suo abbonamento {plan_name}. Non possiamo completarlo senza di lei.',
  'authentication_required.todo': "Segua il link qui sotto per autenticare il pagamento: basta un momento. Se preferisce pagare con un'altra carta, aggiorni la carta in Dati di fatturazione (link qui sotto).",

  'card_expiring.subject': 'La sua carta scade prima del prossimo rinnovo',
  'card_expiring.body_card': 'La sua carta {card} (valida fino a {expiry}) scade prima del rinnovo del suo abbonamento {plan_name}, previsto in data {period_end}.',
  'card_expiring.body': 'La carta registrata scade prima del rinnovo del suo abbonamento {plan_name}, previsto in data {period_end}.',
  'card_expiring.todo': "Per mantenere l'abbonamento senza interruzioni, aggiunga una nuova carta in Dati di fatturazione (link qui sotto).",

  'renewal_upcoming.subject': 'Il suo abbonamento {plan_name} si rinnova in data {period_end}',
  'renewal_upcoming.body': 'Il suo abbonamento annuale {plan_name} si rinnoverà automaticamente in data {period_end}.',
  'renewal_upcoming.amount_card': 'Addebiteremo {amount} sulla sua carta {card}.',
  'renewal_upcoming.amount': 'L\'importo sarà di {amount}.',
  'renewal_upcoming.todo': "Se i suoi dati di fatturazione sono aggiornati, non deve fare nulla. Può controllarli nel suo abbonamento (link qui sotto).",

  'grace_ending.subject': 'Promemoria: tra {days} perderà il piano {plan_name}',
  'grace_ending.body': 'Il pagamento del suo abbonamento {plan_name} non è ancora andato a buon fine. Mantiene l\'accesso completo fino al giorno {grace_ends_at}, cioè ancora per {days}; dopo, il suo account passerà al piano gratuito.',
  'grace_ending.body_short': 'Il pagamento del suo abbonamento {plan_name} non è ancora andato a buon fine. Mantiene l\'accesso completo ancora per {days}; dopo, il suo account passerà al piano gratuito.',

  'downgraded.subject': 'Il suo account è passato al piano gratuito',
  'downgraded.body': 'Il pagamento del suo abbonamento {plan_name} non è andato a buon fine prima della fine del periodo di tolleranza, quindi il suo account è passato al piano gratuito.',
  'downgraded.invoice': 'La fattura non pagata {invoice_id} è stata chiusa: non le verrà addebitata.',
  'downgraded.restore': "I suoi dati vengono conservati. Per riavere {plan_name}, prema «Ripristina {plan_name}» nella pagina del suo abbonamento: quel giorno inizia un nuovo periodo e le funzioni a pagamento tornano subito disponibili. Il tempo sul piano gratuito non le viene mai addebitato.",

  // ---- subscription_canceled ----
  'subscription_canceled.subject': "Il suo abbonamento {plan_name} è annullato",
  'subscription_canceled.body_until': "Come richiesto, il suo abbonamento {plan_name} non verrà rinnovato. Mantiene le funzioni a pagamento fino al {access_until}; poi il suo account passerà al piano gratuito.",
  'subscription_canceled.body_now': "Come richiesto, il suo abbonamento {plan_name} è annullato e il suo account è passato al piano gratuito.",
  'subscription_canceled.paid_in_flight': "Un pagamento di {paid_amount} era già in corso al momento dell'annullamento ed è andato a buon fine: copre il suo piano fino al {access_until} ed è l'ultimo.",
  'subscription_canceled.invoice': "La fattura non pagata {invoice_id} è chiusa: non le verrà addebitata.",
  'subscription_canceled.no_charge': "Non verrà addebitato nessun altro pagamento.",
  'subscription_canceled.resume': "Ha cambiato idea? Può riprendere l'abbonamento in Abbonamento fino al {access_until}.",
  'subscription_canceled.restore': "I suoi dati vengono conservati. Per tornare, effettui un nuovo acquisto in Abbonamento quando vuole.",

  // ---- plan_changed ----
  'plan_changed.subject': "Il suo cambio di piano a {plan_name}",
  'plan_changed.body_scheduled': "Il suo abbonamento passa a {plan_name} il {change_at}. Fino ad allora non cambia nulla; da quel momento si rinnova a {amount}.",
  'plan_changed.body_now': "Il suo abbonamento è ora sul piano {plan_name}.",
  'plan_changed.charged': "Abbiamo addebitato {paid_amount} per il resto del periodo in corso, che termina il {period_end}.",
  'plan_changed.grace': "La fattura non pagata è sostituita da una di {amount} per {plan_name}, per lo stesso periodo, che addebitiamo ora. Il suo periodo di tolleranza termina sempre il {grace_ends_at}.",
  'plan_changed.unschedule': "Per annullare questo cambio, scelga di nuovo il suo piano attuale in Abbonamento prima del {change_at}.",

  'help_request_received.subject': 'Abbiamo ricevuto la sua richiesta di assistenza',
  'help_request_received.body_invoice': 'Grazie per il suo messaggio. Il nostro team ha ricevuto la sua richiesta relativa alla fattura {invoice_id}, insieme ai tentativi di pagamento e ai motivi indicati dalla banca, e le risponderà via e-mail.',
  'help_request_received.body': 'Grazie per il suo messaggio. Il nostro team ha ricevuto la sua richiesta e le risponderà via e-mail.',

  'help_request_answered.subject': 'La nostra risposta alla sua richiesta di assistenza',
  'help_request_answered.body': 'Il nostro team ha risposto alla sua richiesta di assistenza:',
  'help_request_answered.more': 'Se ha un\'altra domanda, può inviare una nuova richiesta da Abbonamento → Cronologia acquisti.',

  'webhook_endpoint_disabled.subject': 'Endpoint webhook disattivato: {endpoint_url}',
  'webhook_endpoint_disabled.body_since': 'Gli invii all\'endpoint webhook {endpoint_url} non riescono ininterrottamente dal giorno {failing_since}, quindi è stato disattivato. Non gli verranno più inviati eventi.',
  'webhook_endpoint_disabled.body': 'Gli invii all\'endpoint webhook {endpoint_url} continuavano a non riuscire, quindi è stato disattivato. Non gli verranno più inviati eventi.',
  'webhook_endpoint_disabled.last_error': 'Ultimo errore: {last_error}',
  'webhook_endpoint_disabled.todo': 'Corregga il destinatario, poi riattivi l\'endpoint {endpoint_id} nella console o con PATCH /v1/webhook-endpoints/{endpoint_id} e lo stato "enabled". Gli invii ancora in sospeso riprenderanno allora.',

  // ---- access_link: a new no-login link the customer asked for ----
  'access_link.subject': "Il suo link al suo abbonamento",
  'access_link.body': "Ha chiesto un nuovo link alle pagine del suo abbonamento. Le apra con il pulsante qui sotto; non serve alcuna password.",
  'access_link.expires': "Il link funziona fino al {link_expires_at}. Dopo, la pagina che apre le permette di chiederne uno nuovo.",
  'access_link.ignore': "Se non l'ha chiesto, può ignorare questa e-mail: sul suo account non è cambiato nulla.",

  // ---- invoice and credit-note documents (PDF, issue 23) ----
  'doc.invoice': "Fattura",
  'doc.credit_note': "Nota di credito",
  'doc.number': "Numero",
  'doc.issued_on': "Data di emissione",
  'doc.seller': "Emittente",
  'doc.buyer': "Intestata a",
  'doc.vat_id': "Partita IVA: {vat_id}",
  'doc.description': "Descrizione",
  'doc.amount': "Importo",
  'doc.interval.month': "mensile",
  'doc.interval.year': "annuale",
  'doc.line.subscription': "Abbonamento {plan_name} ({interval})",
  'doc.line.period': "{start} – {end}",
  'doc.line.proration': "{plan_name}, resto del periodo (pro rata)",
  'doc.line.credit': "Periodo non utilizzato di {plan_name}",
  'doc.net': "Imponibile",
  'doc.tax': "IVA ({rate})",
  'doc.total': "Totale",
  'doc.prices_include_tax': "Prezzi IVA inclusa.",
  'doc.paid': "Pagata il {date} con {card}.",
  'doc.paid_no_card': "Pagata il {date}.",
  'doc.due': "Pagamento dovuto: questa fattura non è pagata.",
  'doc.uncollectible': "Non pagata: questa fattura è stata chiusa come inesigibile.",
  'doc.cancelled': "Annullata dalla nota di credito {number} del {date}.",
  'doc.credit.for': "Annulla la fattura {number} del {date}.",
  'doc.credit.reason.canceled': "L'abbonamento è stato disdetto mentre questa fattura non era pagata.",
  'doc.credit.reason.plan_changed': "Il piano è stato cambiato mentre questa fattura non era pagata; una nuova fattura la sostituisce.",
  'doc.credit.reason.voided': "La fattura è stata annullata.",
  'doc.credited': "Importo accreditato",
};
