import { histogramBetween } from '../../bench/ack';

/** bench/ack.ts: quantiles of what a Prometheus histogram observed between two reads, as `histogram_quantile` interpolates them. */
const read = (cumulative: number[], sum: number) => ({ le: [1, 2, 4, Number.POSITIVE_INFINITY], cumulative, count: cumulative.at(-1)!, sum });

test('only what was observed between the two reads counts, interpolated within its bucket', () => {
  const before = read([10, 10, 10, 10], 5); // ten observations under 1, before
  const after = read([10, 60, 110, 110], 255);
  const h = histogramBetween(before, after);
  expect(h.count).toBe(100);
  expect(h.mean).toBeCloseTo(2.5);
  expect(h.quantile(0.5)).toBeCloseTo(2); // the 50th of 100 is the last of the (1, 2] bucket
  expect(h.quantile(0.99)).toBeCloseTo(3.96); // 49 of the 50 in (2, 4]
  expect(h.quantile(0.25)).toBeCloseTo(1.5);
});

test('a quantile in the +Inf bucket answers the last finite bound; nothing observed answers NaN', () => {
  expect(histogramBetween(read([0, 0, 0, 0], 0), read([0, 0, 90, 100], 400)).quantile(0.99)).toBe(4);
  expect(histogramBetween(read([3, 3, 3, 3], 1), read([3, 3, 3, 3], 1)).quantile(0.5)).toBeNaN();
});
