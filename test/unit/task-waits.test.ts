import { temporal } from '@temporalio/proto';
import { taskWaits, workflowTime } from '../helpers/history';

const { EventType, WorkflowTaskFailedCause } = temporal.api.enums.v1;
type Kind = 'started' | 'scheduled' | 'taskStarted' | 'completed' | 'failed';
const types: Record<Kind, temporal.api.enums.v1.EventType> = {
  started: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
  scheduled: EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
  taskStarted: EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
  completed: EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
  failed: EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
};
/** A history of [kind, epoch ms] pairs, in event order. */
const history = (...events: [Kind, number][]): temporal.api.history.v1.IHistoryEvent[] =>
  events.map(([kind, ms]) =>
    temporal.api.history.v1.HistoryEvent.fromObject({
      eventType: types[kind],
      eventTime: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 },
      ...(kind === 'failed' ? { workflowTaskFailedEventAttributes: { cause: WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND } } : {}),
    }),
  );

describe('taskWaits (bench/common.ts merchantActivity)', () => {
  it('measures a wait from the task scheduled after the last completion, even when that completion is before the window', () => {
    // The run began at 0 and worked before the window (100_000 on); one task waits 40 ms inside it.
    const events = history(
      ['started', 0],
      ['scheduled', 0],
      ['taskStarted', 5],
      ['completed', 20],
      ['scheduled', 50_000],
      ['taskStarted', 50_001],
      ['completed', 50_010],
      ['scheduled', 100_100],
      ['taskStarted', 100_130],
      ['completed', 100_140],
    );
    const out = taskWaits(events, 100_000, 200_000);
    expect(out.waits).toEqual([40]);
    expect(out.worst).toEqual({ total: 40, toStart: 30 });
    expect(out.runsBegun).toBe(0);
  });

  it('counts a task scheduled before the window and completed inside it from its scheduling', () => {
    const events = history(['scheduled', 99_000], ['taskStarted', 100_500], ['completed', 100_600]);
    expect(taskWaits(events, 100_000, 200_000).waits).toEqual([1_600]);
  });

  it('keeps failed attempts inside the wait, and names their causes', () => {
    const events = history(
      ['started', 1_000],
      ['scheduled', 1_000],
      ['taskStarted', 1_010],
      ['failed', 1_200],
      ['scheduled', 1_300],
      ['taskStarted', 2_900],
      ['completed', 3_000],
    );
    const out = taskWaits(events, 0, 10_000);
    expect(out.waits).toEqual([2_000]);
    expect(out.worst).toEqual({ total: 2_000, toStart: 1_900 });
    expect(out.failures).toEqual([{ cause: 'WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND', at: 1_200 }]);
    expect(out.runsBegun).toBe(1);
  });

  it('leaves out tasks completed after the window', () => {
    const events = history(['scheduled', 1_000], ['taskStarted', 1_010], ['completed', 1_020], ['scheduled', 20_000], ['taskStarted', 20_010], ['completed', 20_020]);
    expect(taskWaits(events, 0, 10_000).waits).toEqual([20]);
  });
});

describe('workflowTime (test/helpers/history.ts)', () => {
  it("reads a signal's time from the attempt that took it and completed, not from one that failed", () => {
    const signalled = temporal.api.history.v1.HistoryEvent.fromObject({ eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, eventTime: { seconds: 1 } });
    const events = [...history(['started', 0], ['scheduled', 0], ['taskStarted', 5], ['completed', 20]), signalled, ...history(['scheduled', 1_000], ['taskStarted', 1_010], ['failed', 1_020], ['scheduled', 1_300], ['taskStarted', 1_310], ['completed', 1_330])].map(
      (e, i) => Object.assign(e, { eventId: i + 1 }),
    );
    expect(workflowTime(events, signalled)).toBe(1_310);
    // A command made by the completed task reads that task's start.
    expect(workflowTime(events, events.at(-1)!, 'before')).toBe(1_310);
  });
});
