import { readFileSync } from 'node:fs';

/** Linux's clock ticks per second for /proc times (USER_HZ): 100 on every mainstream kernel. */
const TICK_MS = 10;

/** CPU time (user + system, ms) a process has used so far, from /proc; undefined elsewhere or once it is gone. */
function cpuMsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ", utime and stime are the 12th and 13th fields (comm may hold spaces).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

export type CpuUse = Record<string, number | undefined>;

/**
 * CPU time each named process spends between `start()` and the call of the
 * function it answers, in ms: where the cost of a phase goes, process by process.
 */
export function cpuMeter(processes: Record<string, number | undefined>) {
  return {
    start(): () => CpuUse {
      const before = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, pid === undefined ? undefined : cpuMsOf(pid)]));
      return () =>
        Object.fromEntries(
          Object.entries(processes).map(([name, pid]) => {
            const now = pid === undefined ? undefined : cpuMsOf(pid);
            const was = before[name];
            return [name, now === undefined || was === undefined ? undefined : now - was];
          }),
        );
    },
  };
}
