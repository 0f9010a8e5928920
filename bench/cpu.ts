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
 * Starts counting the CPU time of each named process; the function it answers
 * gives what each spent since, in ms: where the cost of a phase goes.
 */
export function cpuSince(processes: Record<string, number | undefined>): () => CpuUse {
  const now = () => Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, pid === undefined ? undefined : cpuMsOf(pid)]));
  const before = now();
  return () => {
    const after = now();
    return Object.fromEntries(Object.keys(processes).map((name) => [name, after[name] === undefined || before[name] === undefined ? undefined : after[name]! - before[name]!]));
  };
}

/** The most resident memory a process has had (VmHWM), in MiB, from /proc; undefined elsewhere or once it is gone. */
export function peakRssMiB(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}
