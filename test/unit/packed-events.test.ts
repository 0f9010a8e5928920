import { packEvents, unpackEvents, type WebhookEvent } from '../../src/workflows/messages';

/** The merchant workflow's backlog as carried across continue-as-new (PACKED_EVENTS). */
test('packed events unpack to the same events in the same order, without the hash nothing reads', () => {
  const events: WebhookEvent[] = [
    { scope: 'store/order/created', hash: 'a1', orderId: 101 },
    { scope: 'store/order/statusUpdated', hash: 'b2', orderId: 101, previousStatusId: 0, newStatusId: 11 },
    { scope: 'store/order/refund/created', hash: 'c3', orderId: 101, refundId: 7 },
    { scope: 'store/order/created', hash: 'd4', orderId: 102 },
  ];
  const unpacked = unpackEvents(JSON.parse(JSON.stringify(packEvents(events))));
  expect(unpacked).toEqual(events.map((e) => ({ ...e, hash: 'carried' })));
});

test("a 12,000-event flood's backlog packs to a small fraction of Temporal's 2 MB payload limit", () => {
  const events: WebhookEvent[] = Array.from({ length: 12_000 }, (_, i) => ({
    scope: 'store/order/created',
    hash: `0a1b2c3d4e5f60718293a4b5c6d7e8f9${String(i).padStart(8, '0')}`,
    orderId: 1_000_000 + i,
  }));
  const unpackedBytes = JSON.stringify(events).length;
  const packedBytes = JSON.stringify(packEvents(events)).length;
  expect(unpackedBytes).toBeGreaterThan(900_000);
  expect(packedBytes).toBeLessThan(150_000);
});
