// E-mail messages, Spanish. Same keys and placeholders as en.ts.
import type { Catalog } from './en.ts';

export const es: Catalog = {
  'greeting': 'Hola, {account_name}:',
  'greeting.operator': 'Hola:',
  'closing': 'Un cordial saludo,\nEl equipo de facturación',
  'footer': 'Este mensaje sobre la suscripción de {account_name} se ha enviado automáticamente.',
  'footer.operator': 'Este mensaje lo ha enviado automáticamente renewd.',
  'why': 'Motivo: {reason}.',
  'access': 'Mantiene el acceso completo a su plan hasta el {grace_ends_at}. Si para entonces el pago no se ha completado, su cuenta pasará al plan gratuito.',
  'todo': "Qué hacer: actualice su tarjeta en Información de facturación (enlace abajo). En cuanto se guarde la nueva tarjeta, volveremos a intentar el pago.",
  'next_retry': 'También volveremos a intentarlo automáticamente el {next_retry_at}.',
  'todo.retry': "Si la tarjeta vuelve a funcionar (por ejemplo, porque ha ingresado fondos), también puede reintentar el pago ahora mismo (enlace abajo).",
  'todo.help': "¿Tiene alguna pregunta sobre este pago? Solicite ayuda (enlace abajo): nuestro equipo ve la factura y la respuesta del banco.",
  'days.one': '{n} día',
  'days.few': '{n} días',
  'days.many': '{n} de días',
  'days.other': '{n} días',

  'label.row': '{label}: {value}',
  'label.plan': 'Plan',
  'label.amount': 'Importe',
  'label.paid_until': 'Pagado hasta',
  'label.payment_method': 'Método de pago',
  'label.invoice': 'Factura',
  'label.access_until': 'Acceso completo hasta',
  'label.next_retry': 'Próximo intento automático',
  'label.request': 'Referencia de la solicitud',
  'link.portal': 'Abrir mi suscripción',
  'link.billing': "Actualizar mi tarjeta",
  'link.authenticate': 'Autenticar el pago',
  'link.history': 'Ver mi historial de compras',
  'link.restore': "Restablecer mi plan", // the downgrade e-mail's way back (/portal#restore)
  'link.retry': "Reintentar el pago",
  'link.help': "Solicitar ayuda",

  'reason.credit_limit': 'se alcanzó el límite de crédito de la tarjeta',
  'reason.card_expired_or_inactive': 'la tarjeta ha caducado o no está activa',
  'reason.insufficient_funds': 'los fondos de la cuenta asociada a la tarjeta eran insuficientes',
  'reason.issuer_unavailable': 'el banco emisor de la tarjeta no estaba disponible',
  'reason.payment_system_failure': 'el sistema de pago sufrió un fallo técnico',
  'reason.authentication_required': 'el banco emisor de la tarjeta le pide que autentique el pago',
  'reason.declined_by_bank': 'el banco emisor de la tarjeta rechazó el pago',

  'purchase_succeeded.subject': 'Recibo: su suscripción {plan_name} ha comenzado',

  'purchase_succeeded.body': '¡Gracias! El pago de su suscripción {plan_name} se ha realizado correctamente y su suscripción está vigente hasta el {period_end}.',

  'purchase_succeeded.body_short': '¡Gracias! El pago de su suscripción {plan_name} se ha realizado correctamente y su suscripción ha comenzado.',

  'renewal_succeeded.subject': 'Recibo: su suscripción {plan_name} se ha renovado',
  'renewal_succeeded.body': '¡Gracias! El pago de su suscripción {plan_name} se ha realizado correctamente y su suscripción se ha renovado hasta el {period_end}.',
  'renewal_succeeded.body_short': '¡Gracias! El pago de su suscripción {plan_name} se ha realizado correctamente y su suscripción se ha renovado.',

  'retry_succeeded.subject': 'Pago recibido: su suscripción {plan_name} se ha renovado',
  'retry_succeeded.body': 'Buenas noticias: el pago que había fallado se ha completado. Su suscripción {plan_name} se ha renovado hasta el {period_end}; no tiene que hacer nada más.',
  'retry_succeeded.body_short': 'Buenas noticias: el pago que había fallado se ha completado. Su suscripción {plan_name} se ha renovado; no tiene que hacer nada más.',

  'renewal_failed.subject': 'Acción necesaria: el pago de su suscripción {plan_name} ha fallado',
  'renewal_failed.body_amount': 'No hemos podido renovar su suscripción {plan_name}: el pago de {amount} ha fallado.',
  'renewal_failed.body': 'No hemos podido renovar su suscripción {plan_name}: el pago ha fallado.',

  'retry_failed.subject': 'El pago de su suscripción {plan_name} ha vuelto a fallar',
  'retry_failed.body_amount': 'Hemos vuelto a intentar cobrar {amount} por su suscripción {plan_name}, pero el pago ha fallado.',
  'retry_failed.body': 'Hemos vuelto a intentar cobrar el pago de su suscripción {plan_name}, pero ha fallado.',

  'authentication_required.subject': 'Autentique el pago de su suscripción {plan_name}',
  'authentication_required.body_amount': 'Su banco le pide que autentique el pago de {amount} por su suscripción {plan_name}. No podemos completarlo sin usted.',
  'authentication_required.body': 'Su banco le pide que autentique el pago de su suscripción {plan_name}. No podemos completarlo sin usted.',
  'authentication_required.todo': "Siga el enlace de abajo para autenticar el pago; solo le llevará un momento. Si prefiere pagar con otra tarjeta, actualice su tarjeta en Información de facturación (enlace abajo).",

  'card_expiring.subject': 'Su tarjeta caduca antes de la próxima renovación',
  'card_expiring.body_card': 'Su tarjeta {card} (válida hasta {expiry}) caduca antes de que su suscripción {plan_name} se renueve el {period_end}.',
  'card_expiring.body': 'La tarjeta registrada caduca antes de que su suscripción {plan_name} se renueve el {period_end}.',
  'card_expiring.todo': "Para mantener su suscripción sin interrupciones, añada una nueva tarjeta en Información de facturación (enlace abajo).",

  'renewal_upcoming.subject': 'Su suscripción {plan_name} se renueva el {period_end}',
  'renewal_upcoming.body': 'Su suscripción anual {plan_name} se renovará automáticamente el {period_end}.',
  'renewal_upcoming.amount_card': 'Cargaremos {amount} en su tarjeta {card}.',
  'renewal_upcoming.amount': 'El importe será de {amount}.',
  'renewal_upcoming.todo': "No tiene que hacer nada si su información de facturación está al día. Puede revisarla en su suscripción (enlace abajo).",

  'grace_ending.subject': 'Recordatorio: dentro de {days} perderá su plan {plan_name}',
  'grace_ending.body': 'El pago de su suscripción {plan_name} todavía no se ha completado. Mantiene el acceso completo hasta el {grace_ends_at}, es decir, durante {days} más; después, su cuenta pasará al plan gratuito.',
  'grace_ending.body_short': 'El pago de su suscripción {plan_name} todavía no se ha completado. Mantiene el acceso completo durante {days} más; después, su cuenta pasará al plan gratuito.',

  'downgraded.subject': 'Su cuenta ha pasado al plan gratuito',
  'downgraded.body': 'El pago de su suscripción {plan_name} no se completó antes del final del periodo de gracia, por lo que su cuenta ha pasado al plan gratuito.',
  'downgraded.invoice': 'La factura impagada {invoice_id} se ha cerrado: no se le cobrará.',
  'downgraded.restore': "Sus datos se conservan. Para recuperar {plan_name}, pulse «Restablecer {plan_name}» en la página de su suscripción: ese día empieza un nuevo periodo y las funciones de pago vuelven de inmediato. Nunca se le cobra el tiempo en el plan gratuito.",

  // ---- subscription_canceled ----
  'subscription_canceled.subject': "Su suscripción {plan_name} está cancelada",
  'subscription_canceled.body_until': "Como ha solicitado, su suscripción {plan_name} no se renovará. Conserva sus funciones de pago hasta el {access_until}; después, su cuenta pasará al plan gratuito.",
  'subscription_canceled.body_now': "Como ha solicitado, su suscripción {plan_name} está cancelada y su cuenta ha pasado al plan gratuito.",
  'subscription_canceled.paid_in_flight': "Un pago de {paid_amount} ya estaba en curso cuando canceló y se ha completado: cubre su plan hasta el {access_until} y es el último.",
  'subscription_canceled.invoice': "La factura impagada {invoice_id} está cerrada: no se le cobrará.",
  'subscription_canceled.no_charge': "No se realizará ningún otro cobro.",
  'subscription_canceled.resume': "¿Ha cambiado de opinión? Puede reanudar la suscripción en Suscripción hasta el {access_until}.",
  'subscription_canceled.restore': "Sus datos se conservan. Para volver, realice una nueva compra en Suscripción cuando quiera.",

  // ---- plan_changed ----
  'plan_changed.subject': "Su cambio de plan a {plan_name}",
  'plan_changed.body_scheduled': "Su suscripción cambia a {plan_name} el {change_at}. Hasta entonces nada cambia; a partir de ese momento se renueva por {amount}.",
  'plan_changed.body_now': "Su suscripción está ahora en el plan {plan_name}.",
  'plan_changed.charged': "Le hemos cobrado {paid_amount} por el resto del periodo actual, que termina el {period_end}.",
  'plan_changed.grace': "La factura impagada se sustituye por una de {amount} para {plan_name}, por el mismo periodo, que cobramos ahora. Su periodo de gracia sigue terminando el {grace_ends_at}.",
  'plan_changed.unschedule': "Para anular este cambio, vuelva a elegir su plan actual en Suscripción antes del {change_at}.",

  'help_request_received.subject': 'Hemos recibido su solicitud de ayuda',
  'help_request_received.body_invoice': 'Gracias por su mensaje. Nuestro equipo ha recibido su solicitud sobre la factura {invoice_id}, junto con sus intentos de pago y los motivos indicados por el banco, y le responderá por correo electrónico.',
  'help_request_received.body': 'Gracias por su mensaje. Nuestro equipo ha recibido su solicitud y le responderá por correo electrónico.',

  'help_request_answered.subject': 'Nuestra respuesta a su solicitud de ayuda',
  'help_request_answered.body': 'Nuestro equipo ha respondido a su solicitud de ayuda:',
  'help_request_answered.more': 'Si tiene otra pregunta, puede enviar una nueva solicitud desde Suscripción → Historial de compras.',

  'webhook_endpoint_disabled.subject': 'Endpoint de webhook desactivado: {endpoint_url}',
  'webhook_endpoint_disabled.body_since': 'Los envíos al endpoint de webhook {endpoint_url} fallan sin interrupción desde el {failing_since}, por lo que se ha desactivado. Ya no se le enviarán más eventos.',
  'webhook_endpoint_disabled.body': 'Los envíos al endpoint de webhook {endpoint_url} fallaban una y otra vez, por lo que se ha desactivado. Ya no se le enviarán más eventos.',
  'webhook_endpoint_disabled.last_error': 'Último error: {last_error}',
  'webhook_endpoint_disabled.todo': 'Corrija el receptor y vuelva a activar el endpoint {endpoint_id} en la consola o con PATCH /v1/webhook-endpoints/{endpoint_id} y el estado "enabled". Los envíos que sigan pendientes se reanudarán entonces.',

  // ---- access_link: a new no-login link the customer asked for ----
  'access_link.subject': "Su enlace a su suscripción",
  'access_link.body': "Ha pedido un nuevo enlace a las páginas de su suscripción. Ábralas con el botón de abajo; no necesita contraseña.",
  'access_link.expires': "El enlace funciona hasta el {link_expires_at}. Después, la página que abre le permite pedir uno nuevo.",
  'access_link.ignore': "Si no lo ha pedido, puede ignorar este correo: nada ha cambiado en su cuenta.",
};
