// E-mail messages, English: the reference catalog. Every other catalog has exactly these keys
// (checked by the type and by test/notify/templates.test.ts) and the same {placeholders}.
// Messages are plain text: the HTML part escapes them. No literal braces except placeholders.
export const en = {
  // Shared pieces
  'greeting': 'Hello {account_name},',
  'greeting.operator': 'Hello,',
  'closing': 'Kind regards,\nThe billing team',
  'footer': 'This message about the subscription of {account_name} was sent automatically.',
  'footer.operator': 'This message was sent automatically by renewd.',
  'why': 'Why: {reason}.',
  'access': 'You keep full access to your plan until {grace_ends_at}. If the payment has not gone through by then, your account will move to the free plan.',
  'todo': "What to do: update your card in Billing information (link below). As soon as the new card is saved, we try the payment again.",
  'next_retry': 'We will also try again automatically on {next_retry_at}.',
  'todo.retry': "If the card works again now (for example, funds were added), you can also retry the payment at once (link below).",
  'todo.help': "A question about this payment? Request help (link below): our team sees the invoice and what the bank answered.",
  'days.one': '{n} day',
  'days.few': '{n} days',
  'days.many': '{n} days',
  'days.other': '{n} days',

  // Labels of the summary table and of the buttons
  // A label and its value, in the summary table of the text part and before a link's address
  'label.row': '{label}: {value}',
  'label.plan': 'Plan',
  'label.amount': 'Amount',
  'label.paid_until': 'Paid until',
  'label.payment_method': 'Payment method',
  'label.invoice': 'Invoice',
  'label.access_until': 'Full access until',
  'label.next_retry': 'Next automatic attempt',
  'label.request': 'Request reference',
  'link.portal': 'Open my subscription',
  'link.billing': "Update my card",
  'link.authenticate': 'Authenticate the payment',
  'link.history': 'See my purchase history',
  'link.invoice': 'Download my invoice (PDF)',
  'link.restore': "Restore my plan", // the downgrade e-mail's way back (/portal#restore)
  'link.retry': "Retry the payment",
  'link.help': "Request help",

  // Decline reasons, in the customer's words (they follow "Why:")
  'reason.credit_limit': "the card's credit limit was reached",
  'reason.card_expired_or_inactive': 'the card has expired or is inactive',
  'reason.insufficient_funds': 'the account linked to the card had insufficient funds',
  'reason.issuer_unavailable': 'the bank that issued the card was unavailable',
  'reason.payment_system_failure': 'the payment system had a technical failure',
  'reason.authentication_required': 'the bank that issued the card asks you to authenticate the payment',
  'reason.declined_by_bank': 'the bank that issued the card declined the payment',

  'purchase_succeeded.subject': 'Receipt: your {plan_name} subscription has started',

  'purchase_succeeded.body': 'Thank you! The payment for your {plan_name} subscription went through, and your subscription runs until {period_end}.',

  'purchase_succeeded.body_short': 'Thank you! The payment for your {plan_name} subscription went through, and your subscription has started.',

  'renewal_succeeded.subject': 'Receipt: your {plan_name} subscription is renewed',
  'renewal_succeeded.body': 'Thank you! The payment for your {plan_name} subscription went through, and your subscription is renewed until {period_end}.',
  'renewal_succeeded.body_short': 'Thank you! The payment for your {plan_name} subscription went through, and your subscription is renewed.',

  'retry_succeeded.subject': 'Payment received: your {plan_name} subscription is renewed',
  'retry_succeeded.body': 'Good news: the payment that had failed has now gone through. Your {plan_name} subscription is renewed until {period_end}; nothing else is needed from you.',
  'retry_succeeded.body_short': 'Good news: the payment that had failed has now gone through. Your {plan_name} subscription is renewed; nothing else is needed from you.',

  'renewal_failed.subject': 'Action needed: the payment for your {plan_name} subscription failed',
  'renewal_failed.body_amount': 'We could not renew your {plan_name} subscription: the payment of {amount} failed.',
  'renewal_failed.body': 'We could not renew your {plan_name} subscription: the payment failed.',

  'retry_failed.subject': 'The payment for your {plan_name} subscription failed again',
  'retry_failed.body_amount': 'We tried again to collect {amount} for your {plan_name} subscription, but the payment failed.',
  'retry_failed.body': 'We tried again to collect the payment for your {plan_name} subscription, but it failed.',

  'authentication_required.subject': 'Please authenticate the payment for your {plan_name} subscription',
  'authentication_required.body_amount': 'Your bank asks you to authenticate the payment of {amount} for your {plan_name} subscription. We cannot complete it without you.',
  'authentication_required.body': 'Your bank asks you to authenticate the payment for your {plan_name} subscription. We cannot complete it without you.',
  'authentication_required.todo': "Follow the link below to authenticate the payment; it only takes a moment. To pay with another card instead, update your card in Billing information (link below).",

  'card_expiring.subject': 'Your card expires before your next renewal',
  'card_expiring.body_card': 'Your card {card} (valid until {expiry}) expires before your {plan_name} subscription renews on {period_end}.',
  'card_expiring.body': 'The card on file expires before your {plan_name} subscription renews on {period_end}.',
  'card_expiring.todo': "To keep your subscription without interruption, add a new card in Billing information (link below).",

  'renewal_upcoming.subject': 'Your {plan_name} subscription renews on {period_end}',
  'renewal_upcoming.body': 'Your yearly {plan_name} subscription renews automatically on {period_end}.',
  'renewal_upcoming.amount_card': 'We will charge {amount} to your card {card}.',
  'renewal_upcoming.amount': 'The amount will be {amount}.',
  'renewal_upcoming.todo': "There is nothing to do if your billing information is up to date. You can check it in your subscription (link below).",

  'grace_ending.subject': 'Reminder: {days} left to keep your {plan_name} plan',
  'grace_ending.body': 'The payment for your {plan_name} subscription has still not gone through. You keep full access until {grace_ends_at} ({days} left); after that, your account will move to the free plan.',
  'grace_ending.body_short': 'The payment for your {plan_name} subscription has still not gone through. You keep full access for {days}; after that, your account will move to the free plan.',

  'downgraded.subject': 'Your account has moved to the free plan',
  'downgraded.body': 'The payment for your {plan_name} subscription did not go through before the end of the grace period, so your account has moved to the free plan.',
  'downgraded.invoice': 'The unpaid invoice {invoice_id} is closed: you will not be charged for it.',
  'downgraded.restore': "Your data is kept. To get {plan_name} back, press “Restore {plan_name}” on your subscription page: a new period starts that day and the paid features return at once. You are never charged for the time on the free plan.",

  // ---- subscription_canceled ----
  'subscription_canceled.subject': "Your {plan_name} subscription is canceled",
  'subscription_canceled.body_until': "As you asked, your {plan_name} subscription will not renew. You keep its paid features until {access_until}; then your account moves to the free plan.",
  'subscription_canceled.body_now': "As you asked, your {plan_name} subscription is canceled and your account has moved to the free plan.",
  'subscription_canceled.paid_in_flight': "A payment of {paid_amount} was already in progress when you canceled, and it went through: it pays for your plan until {access_until}, and it is the last one.",
  'subscription_canceled.invoice': "The unpaid invoice {invoice_id} is closed: you will not be charged for it.",
  'subscription_canceled.no_charge': "No further payment will be taken.",
  'subscription_canceled.resume': "Changed your mind? You can resume the subscription in Subscription until {access_until}.",
  'subscription_canceled.restore': "Your data is kept. To come back, make a new purchase in Subscription whenever you like.",

  // ---- plan_changed ----
  'plan_changed.subject': "Your plan change to {plan_name}",
  'plan_changed.body_scheduled': "Your subscription changes to {plan_name} on {change_at}. Until then nothing changes; from then on it renews at {amount}.",
  'plan_changed.body_now': "Your subscription is now on {plan_name}.",
  'plan_changed.charged': "We charged {paid_amount} for the rest of the current period, which ends on {period_end}.",
  'plan_changed.grace': "The unpaid invoice is replaced by one of {amount} for {plan_name}, for the same period, which we are charging now. Your grace period still ends on {grace_ends_at}.",
  'plan_changed.unschedule': "To cancel this change, choose your current plan again in Subscription before {change_at}.",

  'help_request_received.subject': 'We have received your help request',
  'help_request_received.body_invoice': 'Thank you for your message. Our team has received your request about invoice {invoice_id}, together with its payment attempts and the reasons given by the bank, and will answer you by e-mail.',
  'help_request_received.body': 'Thank you for your message. Our team has received your request and will answer you by e-mail.',

  'help_request_answered.subject': 'Our answer to your help request',
  'help_request_answered.body': 'Our team has answered your help request:',
  'help_request_answered.more': 'If you have another question, you can send a new request from Subscription → Purchase history.',

  'webhook_endpoint_disabled.subject': 'Webhook endpoint disabled: {endpoint_url}',
  'webhook_endpoint_disabled.body_since': 'Deliveries to the webhook endpoint {endpoint_url} have kept failing since {failing_since}, so it has been disabled. No more events will be sent to it.',
  'webhook_endpoint_disabled.body': 'Deliveries to the webhook endpoint {endpoint_url} kept failing, so it has been disabled. No more events will be sent to it.',
  'webhook_endpoint_disabled.last_error': 'Last error: {last_error}',
  'webhook_endpoint_disabled.todo': 'Fix the receiver, then enable the endpoint {endpoint_id} again in the console or with PATCH /v1/webhook-endpoints/{endpoint_id} and the status "enabled". Deliveries that are still pending resume then.',

  // ---- access_link: a new no-login link the customer asked for ----
  'access_link.subject': "Your link to your subscription",
  'access_link.body': "You asked for a new link to your subscription pages. Open them with the button below; no password is needed.",
  'access_link.expires': "The link works until {link_expires_at}. After that, the page it opens lets you ask for a new one.",
  'access_link.ignore': "If you did not ask for it, you can ignore this e-mail: nothing has changed on your account.",

  // ---- invoice and credit-note documents (PDF, issue 23) ----
  'doc.invoice': "Invoice",
  'doc.credit_note': "Credit note",
  'doc.number': "Number",
  'doc.issued_on': "Date of issue",
  'doc.seller': "From",
  'doc.buyer': "Bill to",
  'doc.vat_id': "VAT ID: {vat_id}",
  'doc.description': "Description",
  'doc.amount': "Amount",
  'doc.interval.month': "monthly",
  'doc.interval.year': "yearly",
  'doc.line.subscription': "{plan_name} subscription ({interval})",
  'doc.line.period': "{start} – {end}",
  'doc.line.proration': "{plan_name}, rest of the period (prorated)",
  'doc.line.credit': "Unused time on {plan_name}",
  'doc.net': "Total excluding tax",
  'doc.tax': "Tax ({rate})",
  'doc.total': "Total",
  'doc.prices_include_tax': "Prices include tax.",
  'doc.paid': "Paid on {date} with {card}.",
  'doc.paid_no_card': "Paid on {date}.",
  'doc.due': "Payment due: this invoice is unpaid.",
  'doc.uncollectible': "Unpaid: this invoice was closed as uncollectible.",
  'doc.cancelled': "Cancelled by credit note {number} of {date}.",
  'doc.credit.for': "Cancels invoice {number} of {date}.",
  'doc.credit.reason.canceled': "The subscription was canceled while this invoice was unpaid.",
  'doc.credit.reason.plan_changed': "The plan was changed while this invoice was unpaid; a new invoice replaces it.",
  'doc.credit.reason.voided': "The invoice was cancelled.",
  'doc.credited': "Amount credited",
  'incident_opened.subject': 'Payment incident: {incident_scope}',
  'incident_opened.body': 'Since {incident_opened_at}, technical payment failures ({technical_declines} in the last minutes) are far above their usual rate for {incident_scope}: the bank or the payment gateway is not answering.',
  'incident_opened.todo': 'Nothing to do: renewd makes no payment attempt for the invoices concerned until the incident ends, then extends their grace by its length and retries them spread over time. The console shows the incident.',
};

export type MessageKey = keyof typeof en;
export type Catalog = Record<MessageKey, string>;
