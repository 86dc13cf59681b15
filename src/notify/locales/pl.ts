// E-mail messages, Polish. Same keys and placeholders as en.ts.
// Values sit where their grammatical case does not change them ("kartę {card}", "do dnia {date}").
import type { Catalog } from './en.ts';

export const pl: Catalog = {
  'greeting': 'Dzień dobry, {account_name},',
  'greeting.operator': 'Dzień dobry,',
  'closing': 'Z pozdrowieniami\nZespół ds. rozliczeń',
  'footer': 'Ta wiadomość dotycząca subskrypcji konta {account_name} została wysłana automatycznie.',
  'footer.operator': 'Ta wiadomość została wysłana automatycznie przez renewd.',
  'why': 'Powód: {reason}.',
  'access': 'Zachowujesz pełny dostęp do swojego planu do dnia {grace_ends_at}. Jeśli do tego czasu płatność nie zostanie zrealizowana, Twoje konto zostanie przeniesione na plan darmowy.',
  'todo': "Co zrobić: zaktualizuj kartę w Dane rozliczeniowe (link poniżej). Gdy tylko nowa karta zostanie zapisana, ponowimy płatność.",
  'next_retry': 'Ponowimy też próbę automatycznie w dniu {next_retry_at}.',
  'todo.retry': "Jeśli karta znów działa (na przykład po wpłacie środków), możesz też od razu ponowić płatność (link poniżej).",
  'todo.help': "Masz pytanie dotyczące tej płatności? Poproś o pomoc (link poniżej): nasz zespół widzi fakturę i odpowiedź banku.",
  'days.one': '{n} dzień',
  'days.few': '{n} dni',
  'days.many': '{n} dni',
  'days.other': '{n} dnia',

  'label.row': '{label}: {value}',
  'label.plan': 'Plan',
  'label.amount': 'Kwota',
  'label.paid_until': 'Opłacono do',
  'label.payment_method': 'Metoda płatności',
  'label.invoice': 'Faktura',
  'label.access_until': 'Pełny dostęp do',
  'label.next_retry': 'Następna automatyczna próba',
  'label.request': 'Numer zgłoszenia',
  'link.portal': 'Otwórz moją subskrypcję',
  'link.billing': "Zaktualizuj moją kartę",
  'link.authenticate': 'Potwierdź płatność',
  'link.history': 'Zobacz historię zakupów',
  'link.invoice': 'Pobierz moją fakturę (PDF)',
  'link.restore': "Przywróć mój plan", // the downgrade e-mail's way back (/portal#restore)
  'link.retry': "Ponów płatność",
  'link.help': "Poproś o pomoc",

  'reason.credit_limit': 'osiągnięto limit kredytowy karty',
  'reason.card_expired_or_inactive': 'karta wygasła lub jest nieaktywna',
  'reason.insufficient_funds': 'na rachunku powiązanym z kartą zabrakło środków',
  'reason.issuer_unavailable': 'bank, który wydał kartę, był niedostępny',
  'reason.payment_system_failure': 'w systemie płatności wystąpiła awaria techniczna',
  'reason.authentication_required': 'bank, który wydał kartę, prosi o potwierdzenie płatności',
  'reason.declined_by_bank': 'bank, który wydał kartę, odrzucił płatność',

  'purchase_succeeded.subject': 'Potwierdzenie płatności: subskrypcja {plan_name} została rozpoczęta',

  'purchase_succeeded.body': 'Dziękujemy! Płatność za subskrypcję {plan_name} została zrealizowana, a subskrypcja jest aktywna do dnia {period_end}.',

  'purchase_succeeded.body_short': 'Dziękujemy! Płatność za subskrypcję {plan_name} została zrealizowana, a subskrypcja została rozpoczęta.',

  'renewal_succeeded.subject': 'Potwierdzenie płatności: subskrypcja {plan_name} została odnowiona',
  'renewal_succeeded.body': 'Dziękujemy! Płatność za subskrypcję {plan_name} została zrealizowana, a subskrypcja odnowiona do dnia {period_end}.',
  'renewal_succeeded.body_short': 'Dziękujemy! Płatność za subskrypcję {plan_name} została zrealizowana, a subskrypcja odnowiona.',

  'retry_succeeded.subject': 'Płatność otrzymana: subskrypcja {plan_name} została odnowiona',
  'retry_succeeded.body': 'Dobra wiadomość: płatność, która wcześniej się nie powiodła, została teraz zrealizowana. Subskrypcja {plan_name} jest odnowiona do dnia {period_end}; nic więcej nie musisz robić.',
  'retry_succeeded.body_short': 'Dobra wiadomość: płatność, która wcześniej się nie powiodła, została teraz zrealizowana. Subskrypcja {plan_name} jest odnowiona; nic więcej nie musisz robić.',

  'renewal_failed.subject': 'Wymagane działanie: płatność za subskrypcję {plan_name} nie powiodła się',
  'renewal_failed.body_amount': 'Nie udało się odnowić subskrypcji {plan_name}: płatność na kwotę {amount} nie powiodła się.',
  'renewal_failed.body': 'Nie udało się odnowić subskrypcji {plan_name}: płatność nie powiodła się.',

  'retry_failed.subject': 'Płatność za subskrypcję {plan_name} ponownie się nie powiodła',
  'retry_failed.body_amount': 'Ponownie próbowaliśmy pobrać kwotę {amount} za subskrypcję {plan_name}, ale płatność się nie powiodła.',
  'retry_failed.body': 'Ponownie próbowaliśmy pobrać płatność za subskrypcję {plan_name}, ale się nie powiodła.',

  'authentication_required.subject': 'Potwierdź płatność za subskrypcję {plan_name}',
  'authentication_required.body_amount': 'Twój bank prosi o potwierdzenie płatności na kwotę {amount} za subskrypcję {plan_name}. Bez Twojego potwierdzenia nie możemy jej zrealizować.',
  'authentication_required.body': 'Twój bank prosi o potwierdzenie płatności za subskrypcję {plan_name}. Bez Twojego potwierdzenia nie możemy jej zrealizować.',
  'authentication_required.todo': "Kliknij poniższy link, aby potwierdzić płatność; zajmie to tylko chwilę. Jeśli wolisz zapłacić inną kartą, zaktualizuj kartę w Dane rozliczeniowe (link poniżej).",

  'card_expiring.subject': 'Twoja karta wygasa przed kolejnym odnowieniem',
  'card_expiring.body_card': 'Twoja karta {card} (ważna do {expiry}) wygasa przed odnowieniem subskrypcji {plan_name} w dniu {period_end}.',
  'card_expiring.body': 'Zapisana karta wygasa przed odnowieniem subskrypcji {plan_name} w dniu {period_end}.',
  'card_expiring.todo': "Aby subskrypcja trwała bez przerwy, dodaj nową kartę w Dane rozliczeniowe (link poniżej).",

  'renewal_upcoming.subject': 'Subskrypcja {plan_name} zostanie odnowiona w dniu {period_end}',
  'renewal_upcoming.body': 'Twoja roczna subskrypcja {plan_name} zostanie automatycznie odnowiona w dniu {period_end}.',
  'renewal_upcoming.amount_card': 'Obciążymy Twoją kartę {card} kwotą {amount}.',
  'renewal_upcoming.amount': 'Kwota wyniesie {amount}.',
  'renewal_upcoming.todo': "Jeśli Twoje dane rozliczeniowe są aktualne, nie musisz nic robić. Możesz je sprawdzić w swojej subskrypcji (link poniżej).",

  'grace_ending.subject': 'Przypomnienie: czas na zachowanie planu {plan_name}: {days}',
  'grace_ending.body': 'Płatność za subskrypcję {plan_name} nadal nie została zrealizowana. Zachowujesz pełny dostęp do dnia {grace_ends_at} (pozostało: {days}); potem Twoje konto zostanie przeniesione na plan darmowy.',
  'grace_ending.body_short': 'Płatność za subskrypcję {plan_name} nadal nie została zrealizowana. Pełny dostęp zachowujesz jeszcze przez {days}; potem Twoje konto zostanie przeniesione na plan darmowy.',

  'downgraded.subject': 'Twoje konto zostało przeniesione na plan darmowy',
  'downgraded.body': 'Płatność za subskrypcję {plan_name} nie została zrealizowana przed końcem okresu karencji, dlatego Twoje konto zostało przeniesione na plan darmowy.',
  'downgraded.invoice': 'Nieopłacona faktura {invoice_id} została zamknięta: nie zostaniesz za nią obciążony.',
  'downgraded.restore': "Twoje dane zostają zachowane. Aby odzyskać {plan_name}, kliknij „Przywróć {plan_name}” na stronie subskrypcji: tego dnia zaczyna się nowy okres, a płatne funkcje wracają natychmiast. Czas na planie bezpłatnym nigdy nie jest naliczany.",

  // ---- subscription_canceled ----
  'subscription_canceled.subject': "Twoja subskrypcja {plan_name} została anulowana",
  'subscription_canceled.body_until': "Zgodnie z Twoją prośbą subskrypcja {plan_name} nie zostanie odnowiona. Płatne funkcje pozostają dostępne do {access_until}; potem konto przejdzie na plan darmowy.",
  'subscription_canceled.body_now': "Zgodnie z Twoją prośbą subskrypcja {plan_name} została anulowana, a konto przeszło na plan darmowy.",
  'subscription_canceled.paid_in_flight': "Płatność {paid_amount} była już w toku, gdy anulowałeś subskrypcję, i została zrealizowana: opłaca Twój plan do {access_until} i jest ostatnia.",
  'subscription_canceled.invoice': "Nieopłacona faktura {invoice_id} została zamknięta: nie zostaniesz nią obciążony.",
  'subscription_canceled.no_charge': "Nie pobierzemy już żadnej płatności.",
  'subscription_canceled.resume': "Zmieniłeś zdanie? Możesz wznowić subskrypcję w sekcji Subskrypcja do {access_until}.",
  'subscription_canceled.restore': "Twoje dane zostają zachowane. Aby wrócić, dokonaj w dowolnej chwili nowego zakupu w sekcji Subskrypcja.",

  // ---- plan_changed ----
  'plan_changed.subject': "Zmiana planu na {plan_name}",
  'plan_changed.body_scheduled': "Twoja subskrypcja zmieni się na {plan_name} dnia {change_at}. Do tego czasu nic się nie zmienia; od tej chwili odnawia się za {amount}.",
  'plan_changed.body_now': "Twoja subskrypcja jest teraz w planie {plan_name}.",
  'plan_changed.charged': "Pobraliśmy {paid_amount} za pozostałą część bieżącego okresu, który kończy się {period_end}.",
  'plan_changed.grace': "Nieopłacona faktura zostaje zastąpiona fakturą na {amount} za {plan_name} za ten sam okres, którą pobieramy teraz. Okres karencji nadal kończy się {grace_ends_at}.",
  'plan_changed.unschedule': "Aby anulować tę zmianę, wybierz ponownie swój obecny plan w zakładce Subskrypcja przed {change_at}.",

  'help_request_received.subject': 'Otrzymaliśmy Twoją prośbę o pomoc',
  'help_request_received.body_invoice': 'Dziękujemy za wiadomość. Nasz zespół otrzymał Twoją prośbę dotyczącą faktury {invoice_id} wraz z próbami płatności i powodami podanymi przez bank i odpowie Ci e-mailem.',
  'help_request_received.body': 'Dziękujemy za wiadomość. Nasz zespół otrzymał Twoją prośbę i odpowie Ci e-mailem.',

  'help_request_answered.subject': 'Nasza odpowiedź na Twoją prośbę o pomoc',
  'help_request_answered.body': 'Nasz zespół odpowiedział na Twoją prośbę o pomoc:',
  'help_request_answered.more': 'Jeśli masz kolejne pytanie, możesz wysłać nową prośbę w Subskrypcja → Historia zakupów.',

  'webhook_endpoint_disabled.subject': 'Endpoint webhooka wyłączony: {endpoint_url}',
  'webhook_endpoint_disabled.body_since': 'Dostarczanie do endpointu webhooka {endpoint_url} nieprzerwanie kończy się błędem od dnia {failing_since}, dlatego endpoint został wyłączony. Nie będą do niego wysyłane kolejne zdarzenia.',
  'webhook_endpoint_disabled.body': 'Dostarczanie do endpointu webhooka {endpoint_url} wciąż kończyło się błędem, dlatego endpoint został wyłączony. Nie będą do niego wysyłane kolejne zdarzenia.',
  'webhook_endpoint_disabled.last_error': 'Ostatni błąd: {last_error}',
  'webhook_endpoint_disabled.todo': 'Napraw odbiorcę, a następnie ponownie włącz endpoint {endpoint_id} w konsoli lub za pomocą PATCH /v1/webhook-endpoints/{endpoint_id} ze statusem "enabled". Oczekujące dostawy zostaną wtedy wznowione.',

  // ---- access_link: a new no-login link the customer asked for ----
  'access_link.subject': "Twój link do subskrypcji",
  'access_link.body': "Poprosiłeś o nowy link do stron Twojej subskrypcji. Otwórz je przyciskiem poniżej; hasło nie jest potrzebne.",
  'access_link.expires': "Link działa do {link_expires_at}. Później na stronie, którą otwiera, możesz poprosić o nowy.",
  'access_link.ignore': "Jeśli o niego nie prosiłeś, zignoruj tę wiadomość: na Twoim koncie nic się nie zmieniło.",

  // ---- invoice and credit-note documents (PDF, issue 23) ----
  'doc.invoice': "Faktura",
  'doc.credit_note': "Faktura korygująca",
  'doc.number': "Numer",
  'doc.issued_on': "Data wystawienia",
  'doc.seller': "Sprzedawca",
  'doc.buyer': "Nabywca",
  'doc.vat_id': "NIP: {vat_id}",
  'doc.description': "Opis",
  'doc.amount': "Kwota",
  'doc.interval.month': "miesięczna",
  'doc.interval.year': "roczna",
  'doc.line.subscription': "Subskrypcja {plan_name} ({interval})",
  'doc.line.period': "{start} – {end}",
  'doc.line.proration': "{plan_name}, reszta okresu (proporcjonalnie)",
  'doc.line.credit': "Niewykorzystany czas planu {plan_name}",
  'doc.net': "Razem netto",
  'doc.tax': "VAT ({rate})",
  'doc.total': "Razem brutto",
  'doc.prices_include_tax': "Ceny zawierają podatek.",
  'doc.paid': "Zapłacono {date} kartą {card}.",
  'doc.paid_no_card': "Zapłacono {date}.",
  'doc.due': "Płatność należna: ta faktura jest nieopłacona.",
  'doc.uncollectible': "Nieopłacona: ta faktura została zamknięta jako nieściągalna.",
  'doc.cancelled': "Anulowana fakturą korygującą {number} z dnia {date}.",
  'doc.credit.for': "Koryguje fakturę {number} z dnia {date}.",
  'doc.credit.reason.canceled': "Subskrypcja została anulowana, gdy ta faktura była nieopłacona.",
  'doc.credit.reason.plan_changed': "Plan został zmieniony, gdy ta faktura była nieopłacona; zastępuje ją nowa faktura.",
  'doc.credit.reason.voided': "Faktura została anulowana.",
  'doc.credited': "Kwota korekty",
};
