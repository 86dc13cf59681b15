// E-mail messages, French. Same keys and placeholders as en.ts.
import type { Catalog } from './en.ts';

export const fr: Catalog = {
  'greeting': 'Bonjour {account_name},',
  'greeting.operator': 'Bonjour,',
  'closing': 'Cordialement,\nLe service facturation',
  'footer': "Ce message concernant l'abonnement du compte {account_name} a été envoyé automatiquement.",
  'footer.operator': 'Ce message a été envoyé automatiquement par renewd.',
  'why': 'Motif : {reason}.',
  'access': "Vous conservez l'accès complet à votre offre jusqu'au {grace_ends_at}. Si le paiement n'a pas abouti d'ici là, votre compte passera à l'offre gratuite.",
  'todo': "Que faire : mettez à jour votre carte dans Informations de facturation (lien ci-dessous). Dès que la nouvelle carte est enregistrée, nous tentons à nouveau le paiement.",
  'next_retry': 'Nous réessaierons également automatiquement le {next_retry_at}.',
  'todo.retry': "Si la carte fonctionne de nouveau (par exemple, le compte a été approvisionné), vous pouvez aussi relancer le paiement tout de suite (lien ci-dessous).",
  'todo.help': "Une question sur ce paiement ? Demandez de l'aide (lien ci-dessous) : notre équipe voit la facture et la réponse de la banque.",
  'days.one': '{n} jour',
  'days.few': '{n} jours',
  'days.many': '{n} de jours',
  'days.other': '{n} jours',

  'label.row': '{label} : {value}',
  'label.plan': 'Offre',
  'label.amount': 'Montant',
  'label.paid_until': "Payé jusqu'au",
  'label.payment_method': 'Moyen de paiement',
  'label.invoice': 'Facture',
  'label.access_until': "Accès complet jusqu'au",
  'label.next_retry': 'Prochaine tentative automatique',
  'label.request': 'Référence de la demande',
  'link.portal': 'Ouvrir mon abonnement',
  'link.billing': "Mettre à jour ma carte",
  'link.authenticate': 'Authentifier le paiement',
  'link.history': "Voir mon historique d'achats",
  'link.restore': "Rétablir mon offre", // the downgrade e-mail's way back (/portal#restore)
  'link.retry': "Relancer le paiement",
  'link.help': "Demander de l'aide",

  'reason.credit_limit': 'le plafond de la carte a été atteint',
  'reason.card_expired_or_inactive': "la carte a expiré ou n'est pas active",
  'reason.insufficient_funds': 'le solde du compte associé à la carte était insuffisant',
  'reason.issuer_unavailable': 'la banque émettrice de la carte était indisponible',
  'reason.payment_system_failure': 'le système de paiement a rencontré une défaillance technique',
  'reason.authentication_required': "la banque émettrice de la carte vous demande d'authentifier le paiement",
  'reason.declined_by_bank': 'la banque émettrice de la carte a refusé le paiement',

  'purchase_succeeded.subject': 'Reçu : votre abonnement {plan_name} a commencé',

  'purchase_succeeded.body': "Merci ! Le paiement de votre abonnement {plan_name} a bien été effectué et votre abonnement court jusqu'au {period_end}.",

  'purchase_succeeded.body_short': 'Merci ! Le paiement de votre abonnement {plan_name} a bien été effectué et votre abonnement a commencé.',

  'renewal_succeeded.subject': 'Reçu : votre abonnement {plan_name} est renouvelé',
  'renewal_succeeded.body': "Merci ! Le paiement de votre abonnement {plan_name} a bien été effectué et votre abonnement est renouvelé jusqu'au {period_end}.",
  'renewal_succeeded.body_short': 'Merci ! Le paiement de votre abonnement {plan_name} a bien été effectué et votre abonnement est renouvelé.',

  'retry_succeeded.subject': 'Paiement reçu : votre abonnement {plan_name} est renouvelé',
  'retry_succeeded.body': "Bonne nouvelle : le paiement qui avait échoué a maintenant abouti. Votre abonnement {plan_name} est renouvelé jusqu'au {period_end} ; vous n'avez rien d'autre à faire.",
  'retry_succeeded.body_short': "Bonne nouvelle : le paiement qui avait échoué a maintenant abouti. Votre abonnement {plan_name} est renouvelé ; vous n'avez rien d'autre à faire.",

  'renewal_failed.subject': 'Action requise : le paiement de votre abonnement {plan_name} a échoué',
  'renewal_failed.body_amount': "Nous n'avons pas pu renouveler votre abonnement {plan_name} : le paiement de {amount} a échoué.",
  'renewal_failed.body': "Nous n'avons pas pu renouveler votre abonnement {plan_name} : le paiement a échoué.",

  'retry_failed.subject': 'Le paiement de votre abonnement {plan_name} a de nouveau échoué',
  'retry_failed.body_amount': 'Nous avons de nouveau tenté de prélever {amount} pour votre abonnement {plan_name}, mais le paiement a échoué.',
  'retry_failed.body': 'Nous avons de nouveau tenté de prélever le paiement de votre abonnement {plan_name}, mais il a échoué.',

  'authentication_required.subject': 'Veuillez authentifier le paiement de votre abonnement {plan_name}',
  'authentication_required.body_amount': "Votre banque vous demande d'authentifier le paiement de {amount} pour votre abonnement {plan_name}. Nous ne pouvons pas le finaliser sans vous.",
  'authentication_required.body': "Votre banque vous demande d'authentifier le paiement de votre abonnement {plan_name}. Nous ne pouvons pas le finaliser sans vous.",
  'authentication_required.todo': "Suivez le lien ci-dessous pour authentifier le paiement ; cela ne prend qu'un instant. Pour payer plutôt avec une autre carte, mettez à jour votre carte dans Informations de facturation (lien ci-dessous).",

  'card_expiring.subject': 'Votre carte expire avant votre prochain renouvellement',
  'card_expiring.body_card': "Votre carte {card} (valable jusqu'à {expiry}) expire avant le renouvellement de votre abonnement {plan_name} le {period_end}.",
  'card_expiring.body': 'La carte enregistrée expire avant le renouvellement de votre abonnement {plan_name} le {period_end}.',
  'card_expiring.todo': "Pour conserver votre abonnement sans interruption, ajoutez une nouvelle carte dans Informations de facturation (lien ci-dessous).",

  'renewal_upcoming.subject': 'Votre abonnement {plan_name} sera renouvelé le {period_end}',
  'renewal_upcoming.body': 'Votre abonnement annuel {plan_name} sera renouvelé automatiquement le {period_end}.',
  'renewal_upcoming.amount_card': 'Nous prélèverons {amount} sur votre carte {card}.',
  'renewal_upcoming.amount': 'Le montant sera de {amount}.',
  'renewal_upcoming.todo': "Vous n'avez rien à faire si vos informations de facturation sont à jour. Vous pouvez les vérifier dans votre abonnement (lien ci-dessous).",

  'grace_ending.subject': 'Rappel : plus que {days} pour conserver votre offre {plan_name}',
  'grace_ending.body': "Le paiement de votre abonnement {plan_name} n'a toujours pas abouti. Vous conservez l'accès complet jusqu'au {grace_ends_at} (encore {days}) ; ensuite, votre compte passera à l'offre gratuite.",
  'grace_ending.body_short': "Le paiement de votre abonnement {plan_name} n'a toujours pas abouti. Vous conservez l'accès complet pendant encore {days} ; ensuite, votre compte passera à l'offre gratuite.",

  'downgraded.subject': "Votre compte est passé à l'offre gratuite",
  'downgraded.body': "Le paiement de votre abonnement {plan_name} n'a pas abouti avant la fin de la période de grâce : votre compte est donc passé à l'offre gratuite.",
  'downgraded.invoice': 'La facture impayée {invoice_id} est clôturée : elle ne vous sera pas prélevée.',
  'downgraded.restore': "Vos données sont conservées. Pour retrouver {plan_name}, cliquez sur « Rétablir {plan_name} » sur la page de votre abonnement : une nouvelle période commence ce jour-là et les fonctionnalités payantes reviennent immédiatement. Le temps passé sur l'offre gratuite ne vous est jamais facturé.",

  // ---- subscription_canceled ----
  'subscription_canceled.subject': "Votre abonnement {plan_name} est résilié",
  'subscription_canceled.body_until': "Comme vous l'avez demandé, votre abonnement {plan_name} ne sera pas renouvelé. Vous conservez ses fonctionnalités payantes jusqu'au {access_until} ; votre compte passera ensuite à l'offre gratuite.",
  'subscription_canceled.body_now': "Comme vous l'avez demandé, votre abonnement {plan_name} est résilié et votre compte est passé à l'offre gratuite.",
  'subscription_canceled.paid_in_flight': "Un paiement de {paid_amount} était déjà en cours au moment de la résiliation et il a abouti : il couvre votre offre jusqu'au {access_until}, et c'est le dernier.",
  'subscription_canceled.invoice': "La facture impayée {invoice_id} est clôturée : elle ne vous sera pas prélevée.",
  'subscription_canceled.no_charge': "Aucun autre paiement ne sera prélevé.",
  'subscription_canceled.resume': "Vous avez changé d'avis ? Vous pouvez reprendre l'abonnement dans Abonnement jusqu'au {access_until}.",
  'subscription_canceled.restore': "Vos données sont conservées. Pour revenir, effectuez un nouvel achat dans Abonnement quand vous le souhaitez.",

  // ---- plan_changed ----
  'plan_changed.subject': "Votre changement de formule : {plan_name}",
  'plan_changed.body_scheduled': "Votre abonnement passe à {plan_name} le {change_at}. D'ici là rien ne change ; ensuite, il se renouvelle à {amount}.",
  'plan_changed.body_now': "Votre abonnement est maintenant sur la formule {plan_name}.",
  'plan_changed.charged': "Nous avons prélevé {paid_amount} pour le reste de la période en cours, qui se termine le {period_end}.",
  'plan_changed.grace': "La facture impayée est remplacée par une facture de {amount} pour {plan_name}, sur la même période, que nous prélevons maintenant. Votre délai de grâce se termine toujours le {grace_ends_at}.",
  'plan_changed.unschedule': "Pour annuler ce changement, choisissez à nouveau votre formule actuelle dans Abonnement avant le {change_at}.",

  'help_request_received.subject': "Nous avons bien reçu votre demande d'aide",
  'help_request_received.body_invoice': "Merci pour votre message. Notre équipe a bien reçu votre demande concernant la facture {invoice_id}, avec ses tentatives de paiement et les motifs donnés par la banque, et vous répondra par e-mail.",
  'help_request_received.body': 'Merci pour votre message. Notre équipe a bien reçu votre demande et vous répondra par e-mail.',

  'help_request_answered.subject': "Notre réponse à votre demande d'aide",
  'help_request_answered.body': "Notre équipe a répondu à votre demande d'aide :",
  'help_request_answered.more': "Si vous avez une autre question, vous pouvez envoyer une nouvelle demande depuis Abonnement → Historique des achats.",

  'webhook_endpoint_disabled.subject': 'Endpoint de webhook désactivé : {endpoint_url}',
  'webhook_endpoint_disabled.body_since': "Les envois vers l'endpoint de webhook {endpoint_url} échouent sans interruption depuis le {failing_since} : il a donc été désactivé. Plus aucun événement ne lui sera envoyé.",
  'webhook_endpoint_disabled.body': "Les envois vers l'endpoint de webhook {endpoint_url} échouaient sans cesse : il a donc été désactivé. Plus aucun événement ne lui sera envoyé.",
  'webhook_endpoint_disabled.last_error': 'Dernière erreur : {last_error}',
  'webhook_endpoint_disabled.todo': 'Corrigez le destinataire, puis réactivez l\'endpoint {endpoint_id} dans la console ou avec PATCH /v1/webhook-endpoints/{endpoint_id} et le statut "enabled". Les envois encore en attente reprendront alors.',

  // ---- access_link: a new no-login link the customer asked for ----
  'access_link.subject': "Votre lien vers votre abonnement",
  'access_link.body': "Vous avez demandé un nouveau lien vers les pages de votre abonnement. Ouvrez-les avec le bouton ci-dessous ; aucun mot de passe n'est nécessaire.",
  'access_link.expires': "Le lien fonctionne jusqu'au {link_expires_at}. Ensuite, la page qu'il ouvre vous permet d'en demander un nouveau.",
  'access_link.ignore': "Si vous ne l'avez pas demandé, vous pouvez ignorer cet e-mail : rien n'a changé sur votre compte.",
};
