import {
  amountFromNumber,
  deductedAfter,
  defaultCurrencyTotal,
  formatAmount,
  formatDefaultTotal,
  normalizeRate,
  orderPoints,
  parseAmount,
  parseExchangeRate,
  refundPoints,
} from '../../src/ledger/points';

describe('amounts', () => {
  test.each([
    ['123.4500', 1234500n],
    ['0', 0n],
    ['0.0001', 1n],
    ['12.5', 125000n],
    ['-3.2000', -32000n],
    ['99999999999.9999', 999999999999999n],
  ])('parseAmount(%s) = %s', (s, v) => {
    expect(parseAmount(s)).toBe(v);
    expect(parseAmount(formatAmount(v))).toBe(v);
  });
  test.each(['', 'abc', '1.23456', '1e5', '1,5', '.5'])('parseAmount rejects %j', (s) => expect(() => parseAmount(s)).toThrow(RangeError));
  test.each([
    [61.72, 617200n],
    [0.1, 1000n],
    [33.33, 333300n],
    [1.00005, 10001n],
    [1e-7, 0n],
    [1234567.89, 12345678900n],
  ])('amountFromNumber(%s) = %s without binary rounding', (n, v) => expect(amountFromNumber(n)).toBe(v));
  test.each([
    [1, '1.0000'],
    [2.5, '2.5000'],
    [0.1, '0.1000'],
  ])('normalizeRate(%s) = %s', (n, s) => expect(normalizeRate(n)).toBe(s));
});

describe('orderPoints: floor(total_inc_tax × rate)', () => {
  test.each([
    ['123.4500', '1.0000', 123],
    ['123.4500', '2.5000', 308], // 308.625
    ['0.9999', '1.0000', 0],
    ['0.0000', '1.0000', 0],
    ['100.0000', '0.0100', 1],
    ['19.9900', '3.0000', 59], // 59.97
    ['0.1000', '10.0000', 1], // floating point would say 0.1 × 10 = 1 too, but 0.7 × 10 … see next
    ['0.7000', '10.0000', 7], // 0.7 * 10 = 7.000000000000001 in floats; exact here
    ['1.1500', '100.0000', 115], // 1.15 * 100 = 114.99999999999999 in floats
    ['99999999.9999', '1000.0000', 99999999999],
    ['-5.0000', '1.0000', 0],
  ])('%s × %s → %d', (total, rate, points) => expect(orderPoints(total, rate)).toBe(points));
});

describe('multi-currency: points in the store default currency, total ÷ exchange rate, exactly (rule 1)', () => {
  test.each([
    // total (transactional), default→transactional rate, points rate, points, default-currency amount
    ['15000.0000', '150.0000000000', '1.0000', 100, '100.0000'], // JPY in a USD store
    ['92.0000', '0.9200000000', '1.0000', 100, '100.0000'], // EUR in a USD store
    ['14.0000', '0.1400000000', '1.0000', 100, '100.0000'], // floats say 99.99999999999999
    ['100.0000', '1.0000000001', '1.0000', 99, '100.0000'], // 99.99999999: floors to 99, displays rounded
    ['123.4567', '1.2345678901', '1.0000', 99, '99.9999'], // 99.9999279…
    ['123.4567', '1.2345678901', '2.5000', 249, '99.9999'], // 249.99981…
    ['1.0000', '3', '1.0000', 0, '0.3333'],
    ['2.0000', '3', '1.0000', 0, '0.6667'], // half up at the 4th decimal
    ['0.0005', '0.0000000002', '1.0000', 2500000, '2500000.0000'],
    ['123.4500', null, '1.0000', 123, '123.4500'], // single-currency store: no rate
  ])('%s ÷ %s × %s → %d points (%s)', (total, rate, ppcu, points, amount) => {
    expect(orderPoints(total, ppcu, rate)).toBe(points);
    expect(formatDefaultTotal(defaultCurrencyTotal(total, rate))).toBe(amount);
  });
  test.each(['0', '0.0000000000', '-1.5', '1.00000000001', 'abc', '', '1e3'])('parseExchangeRate rejects %j', (s) =>
    expect(() => parseExchangeRate(s)).toThrow(RangeError),
  );
  test('a 10-decimal rate is read to the last digit', () => expect(parseExchangeRate('1.2345678901')).toBe(12345678901n));
});

describe('deductions: round_half_up(E × min(1, S/T))', () => {
  test.each([
    [100, 1000000n, 500000n, 50], // half
    [123, 1234500n, 617250n, 62], // 61.5 rounds up
    [123, 1234500n, 1234500n, 123], // full
    [123, 1234500n, 2000000n, 123], // refunds over the total
    [0, 1000000n, 500000n, 0], // credited nothing
    [10, 0n, 500000n, 0], // zero total
    [7, 300000n, 100000n, 2], // 2.333
    [7, 300000n, 150000n, 4], // 3.5 → 4
  ])('E=%d T=%s S=%s → %d', (e, t, s, d) => expect(deductedAfter(e, t, s)).toBe(d));

  test('three partial refunds that add up to the total deduct exactly E', () => {
    const refunds = [
      { id: 1, amount: '33.3300' },
      { id: 2, amount: '33.3300' },
      { id: 3, amount: '33.3400' },
    ];
    const parts = refunds.map((r) => refundPoints(100, '100.0000', refunds, r.id));
    expect(parts).toEqual([-33, -34, -33]);
    expect(parts.reduce((a, b) => a + b, 0)).toBe(-100);
  });

  test('each refund depends only on the refunds up to it, whatever order they are listed in', () => {
    const refunds = [
      { id: 9, amount: '10.0000' },
      { id: 4, amount: '25.0000' },
      { id: 7, amount: '50.0000' },
    ];
    expect(refundPoints(77, '100.0000', refunds, 4)).toBe(-19); // 19.25
    expect(refundPoints(77, '100.0000', refunds, 7)).toBe(-39); // round(57.75)=58 − 19
    expect(refundPoints(77, '100.0000', refunds, 9)).toBe(-7); // round(65.45)=65 − 58
    expect(refundPoints(77, '100.0000', refunds.slice(1), 4)).toBe(-19);
  });

  test('refunds beyond the total deduct nothing more', () => {
    const refunds = [
      { id: 1, amount: '80.0000' },
      { id: 2, amount: '80.0000' },
      { id: 3, amount: '5.0000' },
    ];
    expect(refunds.map((r) => refundPoints(100, '100.0000', refunds, r.id))).toEqual([-80, -20, -0]);
  });

  test('large amounts stay exact', () => {
    const refunds = [{ id: 1, amount: '33333333.3333' }];
    expect(refundPoints(99999999999, '99999999.9999', refunds, 1)).toBe(-33333333333);
  });

  test('an unknown refund id is an error, not a guess', () => {
    expect(() => refundPoints(10, '10.0000', [{ id: 1, amount: '1.0000' }], 2)).toThrow(RangeError);
  });
});
