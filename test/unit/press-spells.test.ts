import { HOLD_AT_MOST_MS, PRESSED_FOR_MS, PressSpells } from '../../src/workflows/press';

/**
 * The merchant's spells of webhook pressure (src/workflows/press.ts): `hint(pressedAt, now, byHintTime)`
 * with the API's clock and the workflow's. `read` replays hints as [sent, read] pairs.
 */
function read(hints: [number, number][], byHintTime: boolean): { press: PressSpells; began: number[] } {
  const press = new PressSpells();
  const began: number[] = [];
  for (const [sent, now] of hints) {
    const before = press.since;
    press.hint(sent, now, byHintTime);
    if (press.since !== before || began.length === 0) began.push(press.since);
  }
  return { press, began };
}

/** A press of `ms`, a hint sent every `every` ms, each read `late` ms after it was sent. */
const steadyPress = (ms: number, every: number, late: number): [number, number][] =>
  Array.from({ length: Math.floor(ms / every) + 1 }, (_, i) => [10_000 + i * every, 10_000 + i * every + late]);

describe.each([true, false])('by the hints own time: %s', (byHintTime) => {
  test('hints read at once: one spell, held until 500 ms after the latest hint, 5 s at most', () => {
    const { press, began } = read(steadyPress(2_000, 100, 0), byHintTime);
    expect(began).toEqual([10_000]);
    expect(press.until).toBe(12_000 + PRESSED_FOR_MS);
    expect(press.holdsUntil).toBe(12_000 + PRESSED_FOR_MS);

    const long = read(steadyPress(8_000, 100, 0), byHintTime);
    expect(long.began).toEqual([10_000]);
    expect(long.press.holdsUntil).toBe(10_000 + HOLD_AT_MOST_MS);
  });

  test('a hint from a clock ahead presses for 500 ms from when it is read, no longer', () => {
    const { press } = read([[99_000, 10_000]], byHintTime);
    expect(press.until).toBe(10_000 + PRESSED_FOR_MS);
  });

  test('a pause longer than 500 ms between hints ends the spell; the next hint begins another', () => {
    const { began, press } = read([...steadyPress(1_000, 100, 0), [12_000, 12_000], [12_100, 12_100]], byHintTime);
    expect(began).toEqual([10_000, 12_000]);
    expect(press.holdsUntil).toBe(12_100 + PRESSED_FOR_MS);
  });
});

test('hints read late, each once the pressure it told of had passed: one spell by their own time, whose hold ends 5 s after it began', () => {
  // Sent every 300 ms, read 250 ms late (as at three jest workers in the fifteenth session): each is
  // read 50 ms after the pressure of the one before passed (sent + 500 ms).
  const hints = steadyPress(10_000, 300, 250);
  const byHintTime = read(hints, true);
  expect(byHintTime.began).toEqual([10_250]);
  expect(byHintTime.press.holdsUntil).toBe(10_250 + HOLD_AT_MOST_MS);

  // By the workflow's clock (runs started before SPELLS_BY_HINT_TIME): a spell begins at every
  // hint, and the hold never reaches its 5 s cap.
  const byClock = read(hints, false);
  expect(byClock.began).toHaveLength(hints.length);
  const [lastSent, lastRead] = hints.at(-1)!;
  expect(byClock.press.holdsUntil).toBe(lastSent + PRESSED_FOR_MS);
  expect(byClock.press.holdsUntil).toBeGreaterThan(lastRead);
});

test('hints of two API processes whose clocks differ by more than 500 ms: one spell', () => {
  // Process B's clock is 2 s ahead of A's; their hints interleave, 8 s of them. B's first hint begins a
  // new spell (2 s past A's latest); after it, each hint is within 500 ms of the latest, and the spell goes on.
  const hints: [number, number][] = [];
  for (let i = 0; i < 80; i++) hints.push([10_000 + i * 100 + (i % 2 === 0 ? 0 : 2_000), 10_000 + i * 100]);
  const { began, press } = read(hints, true);
  expect(began).toEqual([10_000, 10_100]);
  expect(press.holdsUntil).toBe(10_100 + HOLD_AT_MOST_MS);
});
