// E-mail messages, German. Same keys and placeholders as en.ts.
import type { Catalog } from './en.ts';

export const de: Catalog = {
  'greeting': 'Hallo {account_name},',
  'greeting.operator': 'Hallo,',
  'closing': 'Mit freundlichen Grüßen\nIhr Abrechnungsteam',
  'footer': 'Diese Nachricht zum Abonnement von {account_name} wurde automatisch versendet.',
  'footer.operator': 'Diese Nachricht wurde automatisch von renewd versendet.',
  'why': 'Grund: {reason}.',
  'access': 'Sie behalten den vollen Zugriff auf Ihren Tarif bis zum {grace_ends_at}. Ist die Zahlung bis dahin nicht erfolgt, wird Ihr Konto auf den kostenlosen Tarif umgestellt.',
  'todo': "Was Sie tun können: Aktualisieren Sie Ihre Karte unter Zahlungsinformationen (Link unten). Sobald die neue Karte gespeichert ist, versuchen wir die Zahlung erneut.",
  'next_retry': 'Außerdem versuchen wir es am {next_retry_at} automatisch erneut.',
  'todo.retry': "Wenn die Karte jetzt wieder funktioniert (zum Beispiel nach einer Einzahlung), können Sie die Zahlung auch sofort erneut versuchen (Link unten).",
  'todo.help': "Eine Frage zu dieser Zahlung? Fordern Sie Hilfe an (Link unten): Unser Team sieht die Rechnung und die Antwort der Bank.",
  'days.one': '{n} Tag',
  'days.few': '{n} Tage',
  'days.many': '{n} Tage',
  'days.other': '{n} Tage',

  'label.row': '{label}: {value}',
  'label.plan': 'Tarif',
  'label.amount': 'Betrag',
  'label.paid_until': 'Bezahlt bis',
  'label.payment_method': 'Zahlungsmethode',
  'label.invoice': 'Rechnung',
  'label.access_until': 'Voller Zugriff bis',
  'label.next_retry': 'Nächster automatischer Versuch',
  'label.request': 'Referenz der Anfrage',
  'link.portal': 'Mein Abonnement öffnen',
  'link.billing': "Meine Karte aktualisieren",
  'link.authenticate': 'Zahlung bestätigen',
  'link.history': 'Meine Kaufhistorie ansehen',
  'link.restore': "Meinen Tarif wiederherstellen", // the downgrade e-mail's way back (/portal#restore)
  'link.retry': "Zahlung erneut versuchen",
  'link.help': "Hilfe anfordern",

  'reason.credit_limit': 'Das Kreditlimit der Karte wurde erreicht',
  'reason.card_expired_or_inactive': 'Die Karte ist abgelaufen oder nicht aktiv',
  'reason.insufficient_funds': 'Das Guthaben auf dem mit der Karte verbundenen Konto reichte nicht aus',
  'reason.issuer_unavailable': 'Die Bank, die die Karte ausgegeben hat, war nicht erreichbar',
  'reason.payment_system_failure': 'Im Zahlungssystem ist ein technischer Fehler aufgetreten',
  'reason.authentication_required': 'Die Bank, die die Karte ausgegeben hat, verlangt, dass Sie die Zahlung bestätigen',
  'reason.declined_by_bank': 'Die Bank, die die Karte ausgegeben hat, hat die Zahlung abgelehnt',

  'purchase_succeeded.subject': 'Zahlungsbeleg: Ihr Abonnement {plan_name} hat begonnen',

  'purchase_succeeded.body': 'Vielen Dank! Die Zahlung für Ihr Abonnement {plan_name} ist eingegangen, und Ihr Abonnement läuft bis zum {period_end}.',

  'purchase_succeeded.body_short': 'Vielen Dank! Die Zahlung für Ihr Abonnement {plan_name} ist eingegangen, und Ihr Abonnement hat begonnen.',

  'renewal_succeeded.subject': 'Zahlungsbeleg: Ihr Abonnement {plan_name} wurde verlängert',
  'renewal_succeeded.body': 'Vielen Dank! Die Zahlung für Ihr Abonnement {plan_name} ist eingegangen, und Ihr Abonnement wurde bis zum {period_end} verlängert.',
  'renewal_succeeded.body_short': 'Vielen Dank! Die Zahlung für Ihr Abonnement {plan_name} ist eingegangen, und Ihr Abonnement wurde verlängert.',

  'retry_succeeded.subject': 'Zahlung erhalten: Ihr Abonnement {plan_name} wurde verlängert',
  'retry_succeeded.body': 'Gute Nachricht: Die zuvor fehlgeschlagene Zahlung ist nun eingegangen. Ihr Abonnement {plan_name} wurde bis zum {period_end} verlängert; Sie müssen nichts weiter tun.',
  'retry_succeeded.body_short': 'Gute Nachricht: Die zuvor fehlgeschlagene Zahlung ist nun eingegangen. Ihr Abonnement {plan_name} wurde verlängert; Sie müssen nichts weiter tun.',

  'renewal_failed.subject': 'Handlungsbedarf: Die Zahlung für Ihr Abonnement {plan_name} ist fehlgeschlagen',
  'renewal_failed.body_amount': 'Wir konnten Ihr Abonnement {plan_name} nicht verlängern: Die Zahlung von {amount} ist fehlgeschlagen.',
  'renewal_failed.body': 'Wir konnten Ihr Abonnement {plan_name} nicht verlängern: Die Zahlung ist fehlgeschlagen.',

  'retry_failed.subject': 'Die Zahlung für Ihr Abonnement {plan_name} ist erneut fehlgeschlagen',
  'retry_failed.body_amount': 'Wir haben erneut versucht, {amount} für Ihr Abonnement {plan_name} einzuziehen, doch die Zahlung ist fehlgeschlagen.',
  'retry_failed.body': 'Wir haben erneut versucht, die Zahlung für Ihr Abonnement {plan_name} einzuziehen, doch sie ist fehlgeschlagen.',

  'authentication_required.subject': 'Bitte bestätigen Sie die Zahlung für Ihr Abonnement {plan_name}',
  'authentication_required.body_amount': 'Ihre Bank bittet Sie, die Zahlung von {amount} für Ihr Abonnement {plan_name} zu bestätigen. Ohne Ihre Bestätigung können wir sie nicht abschließen.',
  'authentication_required.body': 'Ihre Bank bittet Sie, die Zahlung für Ihr Abonnement {plan_name} zu bestätigen. Ohne Ihre Bestätigung können wir sie nicht abschließen.',
  'authentication_required.todo': "Folgen Sie dem Link unten, um die Zahlung zu bestätigen; das dauert nur einen Moment. Wenn Sie lieber mit einer anderen Karte bezahlen möchten, aktualisieren Sie Ihre Karte unter Zahlungsinformationen (Link unten).",

  'card_expiring.subject': 'Ihre Karte läuft vor der nächsten Verlängerung ab',
  'card_expiring.body_card': 'Ihre Karte {card} (gültig bis {expiry}) läuft ab, bevor Ihr Abonnement {plan_name} am {period_end} verlängert wird.',
  'card_expiring.body': 'Die hinterlegte Karte läuft ab, bevor Ihr Abonnement {plan_name} am {period_end} verlängert wird.',
  'card_expiring.todo': "Damit Ihr Abonnement ohne Unterbrechung weiterläuft, hinterlegen Sie bitte unter Zahlungsinformationen eine neue Karte (Link unten).",

  'renewal_upcoming.subject': 'Ihr Abonnement {plan_name} wird am {period_end} verlängert',
  'renewal_upcoming.body': 'Ihr Jahresabonnement {plan_name} wird am {period_end} automatisch verlängert.',
  'renewal_upcoming.amount_card': 'Wir werden {amount} von Ihrer Karte {card} abbuchen.',
  'renewal_upcoming.amount': 'Der Betrag beläuft sich auf {amount}.',
  'renewal_upcoming.todo': "Wenn Ihre Zahlungsinformationen aktuell sind, müssen Sie nichts tun. Sie können sie in Ihrem Abonnement prüfen (Link unten).",

  'grace_ending.subject': 'Erinnerung: Noch {days}, um Ihren Tarif {plan_name} zu behalten',
  'grace_ending.body': 'Die Zahlung für Ihr Abonnement {plan_name} ist noch immer nicht erfolgt. Sie behalten den vollen Zugriff bis zum {grace_ends_at} (noch {days}); danach wird Ihr Konto auf den kostenlosen Tarif umgestellt.',
  'grace_ending.body_short': 'Die Zahlung für Ihr Abonnement {plan_name} ist noch immer nicht erfolgt. Sie behalten den vollen Zugriff noch {days}; danach wird Ihr Konto auf den kostenlosen Tarif umgestellt.',

  'downgraded.subject': 'Ihr Konto wurde auf den kostenlosen Tarif umgestellt',
  'downgraded.body': 'Die Zahlung für Ihr Abonnement {plan_name} ist vor dem Ende der Kulanzfrist nicht erfolgt. Deshalb wurde Ihr Konto auf den kostenlosen Tarif umgestellt.',
  'downgraded.invoice': 'Die unbezahlte Rechnung {invoice_id} ist geschlossen: Sie wird Ihnen nicht mehr belastet.',
  'downgraded.restore': "Ihre Daten bleiben erhalten. Um {plan_name} zurückzubekommen, klicken Sie auf Ihrer Abonnementseite auf „{plan_name} wiederherstellen“: Ein neuer Zeitraum beginnt an diesem Tag, und die kostenpflichtigen Funktionen stehen sofort wieder zur Verfügung. Die Zeit im kostenlosen Tarif wird Ihnen nie berechnet.",

  // ---- subscription_canceled ----
  'subscription_canceled.subject': "Ihr {plan_name}-Abonnement ist gekündigt",
  'subscription_canceled.body_until': "Wie gewünscht wird Ihr {plan_name}-Abonnement nicht verlängert. Die kostenpflichtigen Funktionen bleiben Ihnen bis zum {access_until} erhalten; danach wechselt Ihr Konto in den kostenlosen Tarif.",
  'subscription_canceled.body_now': "Wie gewünscht ist Ihr {plan_name}-Abonnement gekündigt, und Ihr Konto ist in den kostenlosen Tarif gewechselt.",
  'subscription_canceled.paid_in_flight': "Eine Zahlung über {paid_amount} lief bereits, als Sie gekündigt haben, und ist durchgegangen: Sie deckt Ihren Tarif bis zum {access_until} und ist die letzte.",
  'subscription_canceled.invoice': "Die offene Rechnung {invoice_id} ist geschlossen: Sie wird Ihnen nicht belastet.",
  'subscription_canceled.no_charge': "Es wird keine weitere Zahlung eingezogen.",
  'subscription_canceled.resume': "Anders überlegt? Sie können das Abonnement bis zum {access_until} unter Abonnement fortsetzen.",
  'subscription_canceled.restore': "Ihre Daten bleiben erhalten. Um zurückzukommen, schließen Sie jederzeit unter Abonnement einen neuen Kauf ab.",

  // ---- plan_changed ----
  'plan_changed.subject': "Ihr Tarifwechsel zu {plan_name}",
  'plan_changed.body_scheduled': "Ihr Abonnement wechselt am {change_at} zu {plan_name}. Bis dahin ändert sich nichts; danach verlängert es sich zu {amount}.",
  'plan_changed.body_now': "Ihr Abonnement läuft jetzt im Tarif {plan_name}.",
  'plan_changed.charged': "Wir haben {paid_amount} für den Rest des laufenden Zeitraums berechnet, der am {period_end} endet.",
  'plan_changed.grace': "Die offene Rechnung wird durch eine Rechnung über {amount} für {plan_name} für denselben Zeitraum ersetzt, die wir jetzt einziehen. Ihre Nachfrist endet weiterhin am {grace_ends_at}.",
  'plan_changed.unschedule': "Um diesen Wechsel zurückzunehmen, wählen Sie vor dem {change_at} unter Abonnement wieder Ihren aktuellen Tarif.",

  'help_request_received.subject': 'Wir haben Ihre Hilfeanfrage erhalten',
  'help_request_received.body_invoice': 'Vielen Dank für Ihre Nachricht. Unser Team hat Ihre Anfrage zur Rechnung {invoice_id} samt den Zahlungsversuchen und den Gründen der Bank erhalten und antwortet Ihnen per E-Mail.',
  'help_request_received.body': 'Vielen Dank für Ihre Nachricht. Unser Team hat Ihre Anfrage erhalten und antwortet Ihnen per E-Mail.',

  'help_request_answered.subject': 'Unsere Antwort auf Ihre Hilfeanfrage',
  'help_request_answered.body': 'Unser Team hat Ihre Hilfeanfrage beantwortet:',
  'help_request_answered.more': 'Wenn Sie eine weitere Frage haben, können Sie unter Abonnement → Kaufhistorie eine neue Anfrage senden.',

  'webhook_endpoint_disabled.subject': 'Webhook-Endpunkt deaktiviert: {endpoint_url}',
  'webhook_endpoint_disabled.body_since': 'Zustellungen an den Webhook-Endpunkt {endpoint_url} schlagen seit dem {failing_since} durchgehend fehl, daher wurde er deaktiviert. Es werden keine Ereignisse mehr an ihn gesendet.',
  'webhook_endpoint_disabled.body': 'Zustellungen an den Webhook-Endpunkt {endpoint_url} schlugen immer wieder fehl, daher wurde er deaktiviert. Es werden keine Ereignisse mehr an ihn gesendet.',
  'webhook_endpoint_disabled.last_error': 'Letzter Fehler: {last_error}',
  'webhook_endpoint_disabled.todo': 'Beheben Sie das Problem beim Empfänger und aktivieren Sie den Endpunkt {endpoint_id} dann wieder in der Konsole oder mit PATCH /v1/webhook-endpoints/{endpoint_id} und dem Status "enabled". Noch ausstehende Zustellungen werden dann fortgesetzt.',

  // ---- access_link: a new no-login link the customer asked for ----
  'access_link.subject': "Ihr Link zu Ihrem Abonnement",
  'access_link.body': "Sie haben einen neuen Link zu den Seiten Ihres Abonnements angefordert. Öffnen Sie sie mit der Schaltfläche unten; ein Passwort ist nicht nötig.",
  'access_link.expires': "Der Link gilt bis {link_expires_at}. Danach können Sie auf der Seite, die er öffnet, einen neuen anfordern.",
  'access_link.ignore': "Wenn Sie ihn nicht angefordert haben, können Sie diese E-Mail ignorieren: An Ihrem Konto hat sich nichts geändert.",
};
