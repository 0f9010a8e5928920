import { temporal } from '@temporalio/proto';
import { PressSpells } from '../../src/workflows/press';

export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** When a history event happened, in ms since the epoch. */
export function eventMs(e: HistoryEvent): number {
  return Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6);
}

/**
 * The workflow's time at `event` (its `Date.now()`): the start of the workflow task that took it
 * ('after', for a signal, a timer's firing or a child's start) or made it ('before', for a command
 * such as a timer); Infinity for a signal that no task has taken yet. Only tasks that completed
 * count: an attempt that failed or timed out decided nothing, and the workflow's clock in the
 * attempt that took the event after it is that attempt's start.
 */
export function workflowTime(events: HistoryEvent[], event: HistoryEvent, side: 'after' | 'before' = 'after'): number {
  const id = Number(event.eventId);
  const { EventType } = temporal.api.enums.v1;
  const tasks = events.filter((e, i) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED && events[i + 1]?.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  const task = side === 'after' ? tasks.find((e) => Number(e.eventId) > id) : tasks.filter((e) => Number(e.eventId) < id).at(-1);
  return task ? eventMs(task) : Infinity;
}

/**
 * The spell of the webhook route's press that a merchant run was in at workflow time `at`, by the
 * merchant's own rule (src/workflows/press.ts, with SPELLS_BY_HINT_TIME): each hint replayed at the
 * workflow time it was read. `hints` are the run's hint signals and `pressedAt` what each carried, in
 * the same order. `holdsUntil`: until when the run held new events; `hintedUntil`: when the latest
 * pressure the run knew of passes (past the hold, the run still counts itself hinted until then).
 */
export function spellAt(events: HistoryEvent[], hints: HistoryEvent[], pressedAt: number[], at: number): { began: number; holdsUntil: number; hintedUntil: number } {
  const press = new PressSpells();
  hints.forEach((h, i) => {
    const now = workflowTime(events, h);
    if (now <= at) press.hint(pressedAt[i]!, now, true);
  });
  return { began: press.since, holdsUntil: press.holdsUntil, hintedUntil: press.until };
}

/** How long a workflow's work waited in one run's history, over a window of epoch ms (see `taskWaits`). */
export interface TaskWaits {
  /** One per workflow task completed inside the window: ms from the first task scheduled after the previous completion. */
  waits: number[];
  /** The longest of them, and how much of it passed before its last attempt started. */
  worst: { total: number; toStart: number };
  /** The workflow tasks that failed inside the window: the cause, and when (epoch ms). */
  failures: { cause: string; at: number }[];
  /** 1 if the run began inside the window. */
  runsBegun: number;
}

/**
 * Reads one run's history: for each workflow task completed in `from`..`to`,
 * how long the work waited, from the first task scheduled after the previous
 * completion to this one (queueing, failed or timed-out attempts and replays
 * included). Tasks completed before the window end their waits too: a wait is
 * never measured from a task the window does not see.
 */
export function taskWaits(events: HistoryEvent[], from: number, to: number): TaskWaits {
  const { EventType, WorkflowTaskFailedCause } = temporal.api.enums.v1;
  const out: TaskWaits = { waits: [], worst: { total: 0, toStart: 0 }, failures: [], runsBegun: 0 };
  let waitingSince: number | null = null;
  let startedAt = 0;
  for (const e of events) {
    const at = eventMs(e);
    const inWindow = at >= from && at <= to;
    switch (e.eventType) {
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        if (inWindow) out.runsBegun++;
        break;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
        waitingSince ??= at;
        break;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
        startedAt = at;
        break;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        if (inWindow && waitingSince !== null) {
          const total = at - waitingSince;
          out.waits.push(total);
          if (total > out.worst.total) out.worst = { total, toStart: startedAt - waitingSince };
        }
        waitingSince = null;
        break;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
        if (inWindow) {
          const cause = e.workflowTaskFailedEventAttributes?.cause ?? 0;
          out.failures.push({ cause: WorkflowTaskFailedCause[cause] ?? String(cause), at });
        }
        break;
    }
  }
  return out;
}
