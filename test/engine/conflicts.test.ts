// engine/conflicts.ts: a constraint a race can reach is refused as what it means (a CommandError
// of kind conflict), with the errors of both drivers; any other error is left alone.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, ENGINES } from '../helpers/db.ts';
import { conflictOf, mapConflicts } from '../../src/engine/conflicts.ts';
import { insertAccount, insertPaymentMethod } from '../../src/store/accounts.ts';
import { CommandError } from '../../src/core/errors.ts';

const NOW = new Date('2026-03-01T00:00:00Z');

for (const engine of ENGINES) {
  describe(`database refusals as conflicts (${engine})`, () => {
    test('a second active card (payment_methods_one_active) → 409 payment_method_update_in_progress; a duplicate plan id → plan_exists', async () => {
      const tdb = await createTestDatabase(engine);
      try {
        const { db } = tdb;
        await insertAccount(db, { id: 'acct_c', name: 'C', email: 'c@c.example', locale: 'en', domain_zone: 'com', currency: 'EUR', time_zone: 'UTC', gateway_customer_ref: 'cus_c', created_at: NOW });
        const pm = (id: string) => ({ id, account_id: 'acct_c', type: 'card' as const, gateway_ref: `pm_${id}`, brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2030, created_at: NOW });
        await insertPaymentMethod(db, pm('pm_1'));
        const err = await mapConflicts(() => db.tx((q) => insertPaymentMethod(q, pm('pm_2')))).then(
          () => null,
          (e: unknown) => e,
        );
        assert.ok(err instanceof CommandError, String(err));
        assert.equal(err.kind, 'conflict');
        assert.equal(err.code, 'payment_method_update_in_progress');
        // Nothing was written by the refused transaction.
        assert.equal((await db.query(`SELECT id FROM payment_methods WHERE account_id = 'acct_c'`)).length, 1);

        await db.query(`INSERT INTO plans (id, name, free) VALUES ('pro', 'Pro', false)`);
        const dup = await db.query(`INSERT INTO plans (id, name, free) VALUES ('pro', 'Pro', false)`).catch((e: unknown) => e);
        assert.equal(conflictOf(dup)?.code, 'plan_exists');
      } finally {
        await tdb.drop();
      }
    });
  });
}

test('a deadlock or an unknown unique violation is a 409 to send again; anything else is left alone', () => {
  const pgError = (code: string, constraint?: string) => Object.assign(new Error('refused'), { code, constraint, severity: 'ERROR' });
  assert.equal(conflictOf(pgError('40P01'))?.code, 'concurrent_update');
  assert.equal(conflictOf(pgError('40001'))?.code, 'concurrent_update');
  assert.equal(conflictOf(pgError('23505', 'some_new_index'))?.code, 'concurrent_update');
  assert.equal(conflictOf(pgError('23505', 'subscriptions_one_per_account'))?.code, 'purchase_in_progress');
  assert.equal(conflictOf(pgError('23503')), null, 'a foreign-key violation is a fault, not a race');
  assert.equal(conflictOf(Object.assign(new Error('socket'), { code: 'ECONNRESET' })), null);
  assert.equal(conflictOf(new TypeError('x')), null);
  const mine = new CommandError('invalid', 'validation_error', 'no');
  assert.equal(conflictOf(mine), mine);
});
