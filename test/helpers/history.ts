import type { temporal } from '@temporalio/proto';

/** When a history event happened, in ms since the epoch. */
export function eventMs(e: temporal.api.history.v1.IHistoryEvent): number {
  return Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6);
}
