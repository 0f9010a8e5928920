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

/** The machine's CPU time so far, in ticks, from /proc/stat's first line: all of it, and what the hypervisor stole. */
function machineTicks(): { total: number; idle: number; steal: number } | undefined {
  try {
    const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { total: user! + nice! + system! + idle! + iowait! + irq! + softirq! + steal!, idle: idle! + iowait!, steal: steal! };
  } catch {
    return undefined;
  }
}

/**
 * Starts watching the whole machine; the function it answers gives, since then,
 * the share of its CPU time that was busy (running anything of this guest) and the share the hypervisor stole
 * (another guest had the core: on these VMs the same work then takes longer).
 */
export function machineSince(): () => { busy: number; steal: number } | undefined {
  const before = machineTicks();
  return () => {
    const after = machineTicks();
    if (!before || !after || after.total === before.total) return undefined;
    const total = after.total - before.total;
    const steal = (after.steal - before.steal) / total;
    return { busy: 1 - (after.idle - before.idle) / total - steal, steal };
  };
}
