import { KeyedSerial } from '../../src/merchants/repository';

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
