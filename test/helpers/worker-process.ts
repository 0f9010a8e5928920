import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { CONFIG_VARIABLES } from '../../src/config';

/**
 * The environment of a process a test starts: this one's (PATH and the like) without any of the
 * service's own variables that the machine may have set (HOST, TEMPORAL_*, …), then `env`. The
 * test's in-process system reads only its own environment; so, then, does the process it starts.
 */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(([k]) => !CONFIG_VARIABLES.includes(k) && !k.startsWith('TEMPORAL_'));
  return { ...Object.fromEntries(inherited), ...env };
}

/** How much of a worker process's output a failure message shows. */
const TAIL = 2_000;

/** A worker process (`src/worker/main.ts` through tsx, as `npm run worker` runs it) started by a test. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Settles when the process has exited, with its exit code or the signal that ended it. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /**
   * Resolves with `wait`'s answer; rejects at once, with the process's last output, if the
   * process exits first, and with that output too if `wait` fails (say, times out).
   */
  whileRunning<T>(wait: Promise<T>): Promise<T>;
  /** Sends `signal` unless the process has exited; waits for the exit, with SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

/**
 * Starts a worker process with the environment `env` (the test system's, and
 * the test's own), logging at `logLevel`. Its standard output and error are
 * kept (the last 2,000 characters of each), so a test that fails says where
 * the process was: at info, the log shows each step of its start.
 */
export function startWorkerProcess(env: Record<string, string>, { logLevel = 'info' }: { logLevel?: string } = {}): WorkerProcess {
  const root = path.resolve(__dirname, '..', '..');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], {
    cwd: root,
    env: childEnv({ ...env, LOG_LEVEL: logLevel }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-TAIL)));
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-TAIL)));
  let ended: number | NodeJS.Signals | undefined;
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    // 'close', not 'exit': by then the process's output has all been read.
    child.once('close', (code, signal) => {
      // Node gives one of the two: the exit code, or the signal that ended the process.
      ended = code ?? (signal as NodeJS.Signals);
      resolve(ended);
    }),
  );
  const output = () => `\n--- worker stdout (last ${TAIL} characters) ---\n${stdout}\n--- worker stderr ---\n${stderr}`;
  return {
    child,
    exited,
    async whileRunning<T>(wait: Promise<T>): Promise<T> {
      const died = exited.then((how): never => {
        throw new Error(`the worker process exited (${how}) before the test was done`);
      });
      died.catch(() => undefined); // once `wait` has won, the exit that follows is no failure
      try {
        return await Promise.race([wait, died]);
      } catch (err) {
        throw new Error(`${(err as Error).message}${output()}`);
      }
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
      if (ended !== undefined) return;
      child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve();
        }, graceMs);
      });
      await Promise.race([exited, late]);
      clearTimeout(timer);
      await exited;
    },
  };
}
