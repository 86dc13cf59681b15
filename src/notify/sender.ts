// Delivers the outbox over SMTP (nodemailer). Each round:
//   1. claims due rows in one short statement (FOR UPDATE SKIP LOCKED): status 'sending', a lease
//      (next_attempt_at = now + lease) and attempts + 1, so any number of senders share the table;
//   2. sends OUTSIDE any transaction, with the header X-Renewd-Dedupe-Key and a Message-ID derived
//      from the dedupe key;
//   3. marks the row 'sent', or on failure 'pending' again with an exponential backoff, and
//      'failed' after maxAttempts.
// A crash between 2 and 3 leaves the row 'sending'; when its lease runs out it is claimed and sent
// again with the same Message-ID and dedupe key: at-least-once delivery that receivers dedupe.
// Without an SMTP URL this sender does nothing at all (issue 16): a second worker or a CLI command
// started without SMTP_URL must not touch the outbox's delivery state, or it would take e-mails
// from the process that can send them. Unsent e-mails stay 'pending' (the console shows them) until
// a process with SMTP_URL runs. ('kept' rows of earlier versions are re-queued by the operator:
// requeueEmail in outbox.ts.)
import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../lib/log.ts';
import { createPoller, type Poller } from '../lib/poller.ts';
import { mapPool } from '../lib/pool.ts';
import type { Db } from '../store/db.ts';
import { claimDueNotifications, markNotificationFailed, markNotificationSent, type ClaimedNotification } from '../store/outbox.ts';

export interface MailSenderOptions {
  db: Db;
  clock: Clock;
  /** smtp://user:pass@host:587 or smtps://…; unset: e-mails are kept in the outbox, not sent. */
  smtpUrl?: string;
  /** From address, e.g. "renewd <billing@example.com>". */
  from: string;
  batchSize?: number;
  /** Attempts before an e-mail is marked failed (default 12, about 20 hours of retries). */
  maxAttempts?: number;
  /** How long a claimed row belongs to this sender before another may claim it (default 5 min). */
  leaseMs?: number;
  /** Delay before attempt n+1 after n failed attempts (default 1 min × 2^(n-1), at most 6 h). */
  backoffMs?: (attempts: number) => number;
  /** E-mails sent at the same time (default 4). */
  concurrency?: number;
  /** Where the polling loop logs its failures. */
  logger?: Logger;
}

export interface MailRoundResult {
  sent: number;
  /** Failed for good (maxAttempts reached). */
  failed: number;
  /** Failed this time, scheduled again. */
  retrying: number;
}

export interface MailSender {
  runOnce(): Promise<MailRoundResult>;
  start(intervalMs?: number): void;
  stop(): Promise<void>;
}

export const DEFAULT_MAIL_MAX_ATTEMPTS = 12;

export function defaultMailBackoffMs(attempts: number): number {
  return Math.min(60_000 * 2 ** Math.max(attempts - 1, 0), 6 * 3_600_000);
}

/** The Message-ID of an e-mail: a function of its dedupe key, so a re-send carries the same one. */
export function messageIdFor(dedupeKey: string, from: string): string {
  const m = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from);
  const domain = m ? m[1] : 'renewd.localhost';
  return `<${createHash('sha256').update(dedupeKey).digest('hex').slice(0, 32)}.renewd@${domain}>`;
}

export function createMailSender(opts: MailSenderOptions): MailSender {
  const { db, clock, from } = opts;
  const batchSize = opts.batchSize ?? 50;
  const maxAttempts = opts.maxAttempts ?? DEFAULT_MAIL_MAX_ATTEMPTS;
  const leaseMs = opts.leaseMs ?? 5 * 60_000;
  const backoff = opts.backoffMs ?? defaultMailBackoffMs;
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  // One pooled transport per round: the round's e-mails share a few connections, and nothing stays
  // open between rounds. Timeouts sit well inside the lease, so a send never outlives its claim.
  const smtpUrl = opts.smtpUrl;
  const openTransport = (connections: number) =>
    nodemailer.createTransport({
      pool: true,
      url: smtpUrl,
      maxConnections: connections,
      connectionTimeout: 30_000,
      greetingTimeout: 30_000,
      socketTimeout: 60_000,
    });
  type Transport = ReturnType<typeof openTransport>;

  async function deliver(transport: Transport, row: ClaimedNotification, out: MailRoundResult) {
    try {
      await transport.sendMail({
        from,
        to: row.to_address,
        subject: row.subject,
        text: row.body_text,
        html: row.body_html,
        messageId: messageIdFor(row.dedupe_key, from),
        // Auto-Submitted (RFC 3834): machine mail, so auto-responders (vacation replies) stay quiet.
        headers: { 'X-Renewd-Dedupe-Key': row.dedupe_key, 'Content-Language': row.locale, 'Auto-Submitted': 'auto-generated' },
      });
    } catch (err) {
      const e = err as { message?: string; responseCode?: number; code?: string };
      const detail = [e.code, e.responseCode, e.message ?? String(err)].filter((x) => x !== undefined && x !== '').join(' ');
      const now = clock.now();
      const final = row.attempts >= maxAttempts;
      await markNotificationFailed(db, row.id, final ? null : new Date(now.getTime() + backoff(row.attempts)), detail.slice(0, 1000));
      if (final) out.failed++;
      else out.retrying++;
      return;
    }
    await markNotificationSent(db, row.id, clock.now());
    out.sent++;
  }

  async function runOnce(): Promise<MailRoundResult> {
    const out: MailRoundResult = { sent: 0, failed: 0, retrying: 0 };
    if (!smtpUrl) return out; // not configured to deliver: the outbox is left as it is
    const now = clock.now();
    const rows = await claimDueNotifications(db, now, batchSize, new Date(now.getTime() + leaseMs));
    if (rows.length === 0) return out;
    const workers = Math.min(concurrency, rows.length);
    const transport = openTransport(workers);
    try {
      await mapPool(rows, workers, (row) => deliver(transport, row, out));
    } finally {
      transport.close();
    }
    return out;
  }

  let poller: Poller | null = null;
  return {
    runOnce,
    start(intervalMs = 2000) {
      poller ??= createPoller({ name: 'mail', intervalMs, tick: runOnce, logger: opts.logger });
      poller.start();
    },
    async stop() {
      await poller?.stop();
    },
  };
}
