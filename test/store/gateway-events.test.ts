// The gateway events' claim on both engines: an event id is processed by one delivery at a time and
// once in all (a duplicate while it runs is "busy", after it "done"); a released or stale claim is
// taken over — with the clock standing still (the test clock), too.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, ENGINES, type TestDb } from '../helpers/db.ts';
import { claimGatewayEvent, gatewayEventById, markGatewayEventProcessed, releaseGatewayEvent } from '../../src/store/gateway-events.ts';

const NOW = new Date('2026-03-01T09:00:00Z');
const STALE = 5 * 60_000;
const ev = (id: string) => ({ id, type: 'payment_intent.succeeded', object_id: 'pi_1', created_at: NOW });

for (const engine of ENGINES) {
  describe(`gateway event claims (${engine})`, () => {
    let db: TestDb;
    before(async () => {
      db = await createTestDatabase(engine);
    });
    after(() => db?.drop());

    test('first delivery claims; a duplicate at the same instant is busy; once processed, done', async () => {
      assert.equal(await claimGatewayEvent(db.db, ev('evt_a'), NOW, STALE), 'claimed');
      assert.equal(await claimGatewayEvent(db.db, ev('evt_a'), NOW, STALE), 'busy');
      await markGatewayEventProcessed(db.db, 'evt_a', 'applied', { attempt_id: 'att_1' }, NOW);
      assert.equal(await claimGatewayEvent(db.db, ev('evt_a'), NOW, STALE), 'done');
      const row = await gatewayEventById(db.db, 'evt_a');
      assert.equal(row?.deliveries, 3);
      assert.equal(row?.result, 'applied');
    });

    test('a released claim (its handler failed) and a stale one are taken over; a fresh one is not', async () => {
      assert.equal(await claimGatewayEvent(db.db, ev('evt_b'), NOW, STALE), 'claimed');
      await releaseGatewayEvent(db.db, 'evt_b');
      assert.equal(await claimGatewayEvent(db.db, ev('evt_b'), NOW, STALE), 'claimed');
      assert.equal(await claimGatewayEvent(db.db, ev('evt_b'), new Date(NOW.getTime() + STALE - 1), STALE), 'busy');
      assert.equal(await claimGatewayEvent(db.db, ev('evt_b'), new Date(NOW.getTime() + STALE), STALE), 'claimed');
    });
  });
}
