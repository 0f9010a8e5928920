import { KeyedSerial } from '../../src/keyed-serial';

const tick = () => new Promise((r) => setTimeout(r, 5));

test('tasks of one key run one at a time, in call order, through failures; other keys run alongside', async () => {
  const serial = new KeyedSerial();
  const log: string[] = [];
  let running = 0;
  let most = 0;
  const task = (name: string, fail = false) => async () => {
    running++;
    most = Math.max(most, running);
    log.push(`start ${name}`);
    await tick();
    log.push(`end ${name}`);
    running--;
    if (fail) throw new Error(name);
    return name;
  };
  const results = await Promise.allSettled([serial.run('a', task('a1')), serial.run('a', task('a2', true)), serial.run('a', task('a3'))]);
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  expect(log).toEqual(['start a1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3']);
  expect(most).toBe(1);

  most = 0;
  await Promise.all([serial.run('a', task('x')), serial.run('b', task('y'))]);
  expect(most).toBe(2);
});

test("each task is handed what the one before it of its key returned; nothing after a failure, or for another key's", async () => {
  const serial = new KeyedSerial<number>();
  const handed: (number | undefined)[] = [];
  const task = (value: number, fail = false) => async (previous: number | undefined) => {
    handed.push(previous);
    await tick();
    if (fail) throw new Error('failed');
    return value;
  };
  await Promise.allSettled([serial.run('a', task(1)), serial.run('a', task(2)), serial.run('a', task(3, true)), serial.run('a', task(4)), serial.run('b', task(5))]);
  expect(handed).toEqual([undefined, undefined, 1, 2, undefined]); // a's first and b's first start at once
});

test('with a bound, a task waits that long at most for one that hangs, then runs, handed nothing', async () => {
  const serial = new KeyedSerial<string>(50);
  void serial.run('a', () => new Promise<string>(() => undefined));
  const started = Date.now();
  const handed = await serial.run('a', async (previous) => previous ?? 'nothing');
  expect(handed).toBe('nothing');
  expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  // Without one, it waits for as long as the one before it takes.
  const unbounded = new KeyedSerial<string>();
  void unbounded.run('a', () => new Promise<string>((r) => setTimeout(() => r('late'), 120)));
  expect(await unbounded.run('a', async (previous) => previous ?? 'nothing')).toBe('late');
});
