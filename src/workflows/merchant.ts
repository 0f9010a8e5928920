import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  makeContinueAsNewFunc,
  patched,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { StatusUpdate } from '../merchants/repository';
import { StoreHashKey } from '../temporal/search-attribute-keys';
import type { WebhookRef } from '../merchants/repository';
import { childOptions, redemptionChildOptions } from './children';
import { describeFailure, install as installActivities, isCredentialFailure, reconcile, store } from './activities';
import {
  continueAsNewRequestedSignal,
  credentialsRejectedSignal,
  credentialsRenewedSignal,
  type InstallRequested,
  installRequestedSignal,
  type MerchantCounters,
  merchantStateQuery,
  type MerchantStatus,
  type OrderResult,
  OrderStatus,
  SETTLED_ORDER_OUTCOMES,
  orderStatusChangedSignal,
  orderWaitingSignal,
  orderWorkflowId,
  MERCHANT_WORKFLOW_TASK_TIMEOUT_S,
  RECONCILE_OVERLAP_MS,
  type ReconciliationState,
  redeemUpdate,
  type RedemptionRequest,
  redemptionWorkflowId,
  type SweepCursor,
  type SweepResult,
  refundWorkflowId,
  uninstallRequestedSignal,
  type WebhookEvent,
  webhookEventSignal,
  webhookEventsSignal,
  packEvents,
  type PackedEvent,
  unpackEvents,
} from './messages';
import { orderWorkflow } from './order';
import { PressSpells } from './press';
import { redemptionWorkflow } from './redemption';
import { refundWorkflow } from './refund';

export interface MerchantWorkflowInput {
  merchantId: string;
  storeHash: string;
  /** epoch ms of the install; refunds of orders placed before it deduct nothing */
  installedAt: number;
  /** Continue-as-new once a run's history reaches this many events (contract bound: 10,000). */
  historyLimit: number;
  /** RECONCILE_INTERVAL in seconds (runs started before reconciliation existed: 900). */
  reconcileIntervalSeconds?: number;
  /** MERCHANT_TASK_TIMEOUT in seconds, as the install set it; handed on at continue-as-new (absent before it was settable: 60 s). */
  taskTimeoutSeconds?: number;
  /** What a previous run handed over when it continued-as-new. */
  carried?: Carried;
}

interface Carried {
  status: MerchantStatus;
  generation: number;
  pendingInstall: InstallRequested | null;
  uninstallRequested: boolean;
  /** The newest generation an uninstall was asked at (runs before uninstalls carried one: absent). */
  uninstallGeneration?: number;
  /** Events not yet dispatched, as runs before PACKED_EVENTS carried them. */
  events: WebhookEvent[];
  /** The same, packed (runs since PACKED_EVENTS). */
  packedEvents?: PackedEvent[];
  counters: MerchantCounters;
  reconciliation?: ReconciliationState;
  /** A reconciliation was due when the run continued-as-new. */
  sweepDue?: boolean;
  /** Order and refund workflows waiting for working credentials. */
  waitingForCredentials?: string[];
  recheckCredentials?: boolean;
}

/** Children started per workflow task at most: keeps each task, and each history batch, small. */
const MAX_BATCH = 50;

/**
 * Holding events while the API's webhook route is pressed (`IngestHint`, spells
 * in press.ts): fewer than this many events are ever held, the oldest beyond it
 * start at once (held events are carried across continue-as-new, and a backlog
 * is better spent in the children's queue than in this run's memory).
 */
const HOLD_AT_MOST_EVENTS = 1_000;

/**
 * Winding down before a continue-as-new (WIND_DOWN): a child reports its end
 * to the run that started it, and a continue-as-new whose task meets such a
 * report is refused by the server (`UnhandledCommand`); the retry replays the
 * whole run behind the queued orders. So a run that is to continue as new
 * first stops starting children, and goes once they have ended or gone quiet:
 * none started or ended for QUIET_MS (children that wait for days, such as an
 * Incomplete order or a redemption waiting for its coupon to expire, are
 * quiet; since QUIET_AT_WORK, QUIET_AT_WORK_MS while a child is at work). While the webhook route hints that it is pressed, the quiet time
 * does not count: signals then meet any task. Since CONTINUE_AS_NEW_AFTER_PRESS
 * the run waits for the pressure to pass instead (see HISTORY_BOUND); runs
 * before it went at once. (Runs before QUIET_FROM_STARTS counted quiet from
 * ends only, so children none of which had ended were quiet at once, and
 * looked at no hint.)
 *
 * It also keeps room for the reports of the children it runs: it starts a
 * child only while EVENTS_PER_CHILD for it, EVENTS_PER_RUNNING_CHILD for each
 * one running, and a tenth of `historyLimit` to spare fit below that limit. A
 * child costs its start (initiated, started), its report, and the task that
 * reads it when reports come one by one. Its start's answer wakes a task too,
 * and on a loaded server the answers come one by one as well: since
 * CHILD_START_TASKS that task is counted (a run whose starts were answered
 * together gets the room back once they have been, when it looks again).
 * Before, a loaded run could start children whose reports no longer fitted,
 * reach `historyLimit` with children running, and continue as new at once.
 */
const EVENTS_PER_CHILD = 6;
const EVENTS_PER_CHILD_START_TASK = 3;
const EVENTS_PER_RUNNING_CHILD = 4;
/**
 * Since REPORTED_WAITS, a child may also say once that it waits Incomplete (a signal, and the task
 * that reads it): room is kept for that too, for each child started and each running child that
 * has not said so yet.
 */
const EVENTS_PER_WAIT_REPORT = 4;
const QUIET_MS = 10_000;
/**
 * Since QUIET_AT_WORK, a run that is to continue as new for its history's sake
 * (full, or at the server's suggestion) goes after QUIET_MS only once none of
 * its children is at work: a child at work is an order or a refund, unless the
 * order said it waits Incomplete. While any is, the quiet time is
 * QUIET_AT_WORK_MS, longer than BigCommerce's rate window (30 s on every plan,
 * BIGCOMMERCE.md). In a sale that spends the store's quota, the orders'
 * fetches wait for the next window, and none ends for up to 30 s though all
 * are at work. A run that went after 10 s left hundreds of its children queued
 * on the task queue, and its successor's first task (a continue-as-new puts it
 * on the task queue, never on the worker's sticky one) waited behind them: 66 s
 * in `npm run bench:quota`, while redemptions were answered 503. A run whose
 * children still running all wait for days (orders that said they wait, and
 * redemptions: each waits for its coupon to expire) still goes QUIET_MS after
 * the last one started or ended, and so does a run that an operator asked to
 * start afresh (`npm run rotate-keys`), whatever its children do.
 */
const QUIET_AT_WORK_MS = 45_000;

/**
 * The contract's bound on the events of one run's history. A run that waits for the pressure to pass
 * (CONTINUE_AS_NEW_AFTER_PRESS) goes on past `historyLimit`, at most halfway from it to this bound.
 *
 * Why it waits: a continue-as-new tried while the webhook route is pressed meets a signal in its
 * task, and the server refuses it (`UnhandledCommand`). The server then takes no signal
 * or update of the run while the task that tries again runs ("workflow is closing"), and the SDK's
 * client retries those after a second or more; on `npm start` that task waits behind the orders'
 * first tasks until the webhooks stop, and every redemption with it (docs/performance.md,
 * nineteenth session). So while hinted (past a spell's hold too) a run goes only once the pressure
 * has passed, even one due by `historyLimit`; up to half as much again, at most halfway to
 * HISTORY_BOUND, with room for the reports of the children it runs. (Runs before it went when
 * due, or when wanted and hinted past the hold.)
 */
const HISTORY_BOUND = 10_000;

/**
 * Waking an order that left Incomplete (DEFERRED_WAKES). BigCommerce sends an
 * order's `created` at status 0 and its `statusUpdated` 0 → 11 in the same
 * second when a shopper pays at checkout. The order's workflow, started by the
 * first, usually fetches the order after the change, credits it and ends in
 * one task. A wake signal that lands during that task fails it (the server
 * refuses to complete a run that has a new event: unhandled command), and its
 * retry fetches and credits again: half the orders of such a checkout were
 * fetched twice. So an order whose workflow this run started, and which is
 * still running, is woken only if it still runs WAKE_AFTER_MS later: by then
 * one that had seen the order placed has ended, and one that saw it Incomplete
 * waits on its re-check timer. Others (started by an earlier run) are woken at
 * once, as before; a continue-as-new first sends the wakes still deferred. And
 * when the `statusUpdated` comes after this run's workflow of the order ended
 * credited (or with nothing to credit), the order is not started again (rule 7
 * revives an order that ended without a credit): its fetch came after the
 * change, and a new run would only fetch it to end `already_credited`.
 *
 * Since REPORTED_WAITS, the run does not guess: an order whose first fetch
 * finds it Incomplete tells the run that started it (`orderWaiting`, order.ts
 * REPORTS_WAITING), and the status change of an order of the run's own wakes
 * it only once it has said so, at once if it already has. One that has not
 * (it is fetching, or waits for a worker behind a backlog of children) will
 * see the change when it fetches, and is left alone. No start is asked for
 * and no timer kept: with the 3 s guess, a checkout rush whose children queued
 * longer than that had up to a tenth of its orders woken in the task that
 * credits them, and fetched twice. Nor is such an order started again while
 * the run has not heard of its end (rule 7's revival, which a running
 * workflow refuses): it may have ended credited a moment before, its report
 * on its way, and the start then made a new run that fetched the order only
 * to end `already_credited`. Once it has ended, it is started again only if
 * it ended with nothing credited (not found, or given up Incomplete): before,
 * one that ended so while its wake was deferred was left to the
 * reconciliation. A continue-as-new still sends the wakes kept.
 */
const WAKE_AFTER_MS = 3_000;

/** Patch ids (runs recorded before them replay the old way; see test/fixtures/histories). */
const RECONCILIATION = 'merchant-reconciliation';
const DISPATCH_BEFORE_UNINSTALL = 'merchant-dispatches-acknowledged-events-before-uninstall';
const PACKED_EVENTS = 'merchant-carries-packed-events';
const TASK_TIMEOUT = 'merchant-task-timeout-60s';
const HOLD_WHILE_PRESSED = 'merchant-holds-events-while-webhooks-press';
const WIND_DOWN = 'merchant-winds-down-before-continue-as-new';
const QUIET_FROM_STARTS = 'merchant-quiet-counts-from-child-starts';
const CHILD_START_TASKS = 'merchant-counts-the-task-of-each-child-start';
const DEFERRED_WAKES = 'merchant-defers-the-wake-of-its-own-running-orders';
const REPORTED_WAITS = 'merchant-wakes-its-own-orders-once-they-report-waiting';
const SPELLS_BY_HINT_TIME = 'merchant-tells-spells-of-pressure-apart-by-the-hints-own-time';
const CONTINUE_AS_NEW_AFTER_PRESS = 'merchant-continues-as-new-once-the-pressure-has-passed';
const QUIET_AT_WORK = 'merchant-full-run-waits-for-children-at-work';

/** One sweep in progress: where each list continues, and what it found so far. */
interface Sweep {
  orders: SweepCursor | null;
  refunds: SweepCursor | null;
  repairHooks: boolean;
  startedAt: number | null;
  ordersRecovered: number;
  refundsRecovered: number;
  webhooksRepaired: number;
  webhooks: WebhookRef[] | null;
}

/**
 * One per merchant, for as long as the merchant is installed:
 * verify the API account's scopes, register webhooks, then turn each webhook
 * signal into an order or refund child workflow, until uninstalled.
 *
 * Signals only append to in-memory state; the main loop does the work. Before
 * the history grows past `historyLimit` the loop winds down (WIND_DOWN: no new
 * children; its own end or go quiet) and continues-as-new carrying every event
 * not yet dispatched, so none is lost.
 */
export async function merchantWorkflow(input: MerchantWorkflowInput): Promise<{ status: 'uninstalled'; counters: MerchantCounters }> {
  const { merchantId } = input;
  let installedAt = input.installedAt;
  const reconcileEveryMs = (input.reconcileIntervalSeconds ?? 900) * 1000;
  const carried = input.carried;
  let storeHash = input.storeHash;
  let status: MerchantStatus = carried?.status ?? 'installing';
  let generation = carried?.generation ?? 0;
  let pendingInstall = carried?.pendingInstall ?? null;
  let uninstallRequested = carried?.uninstallRequested ?? false;
  // Uninstall signals sent before they carried a generation leave it at 0: there, a pending install still wins.
  let uninstallGeneration = carried?.uninstallGeneration ?? 0;
  const events: WebhookEvent[] = [...(carried?.events ?? []), ...unpackEvents(carried?.packedEvents ?? [])];
  const counters: MerchantCounters = carried
    ? { ...carried.counters, runs: carried.counters.runs + 1 }
    : { eventsReceived: 0, ordersStarted: 0, refundsStarted: 0, duplicateEvents: 0, statusUpdates: 0, runs: 1 };
  const reconciliation: ReconciliationState = carried?.reconciliation ?? { watermark: null, lastRunAt: null, ordersRecovered: 0, refundsRecovered: 0, webhooksRepaired: 0 };
  let sweepDue = carried?.sweepDue ?? false;
  let sweep: Sweep | null = null;
  let reconciling = false;
  const waitingForCredentials = new Set(carried?.waitingForCredentials ?? []);
  let recheckCredentials = carried?.recheckCredentials ?? false;

  // Install and uninstall are ordered by the merchant record's generation, not by arrival: an
  // install the uninstall saw saved is superseded by it, even if both wait in one workflow task.
  setHandler(installRequestedSignal, (req) => {
    if (req.generation > Math.max(generation, pendingInstall?.generation ?? 0, uninstallGeneration)) pendingInstall = req;
  });
  setHandler(uninstallRequestedSignal, (req) => {
    uninstallRequested = true;
    if (!req) return;
    uninstallGeneration = Math.max(uninstallGeneration, req.generation);
    if (pendingInstall !== null && pendingInstall.generation <= uninstallGeneration) pendingInstall = null;
  });
  setHandler(webhookEventSignal, (event) => {
    counters.eventsReceived++;
    events.push(event);
  });
  // Spells of webhook pressure (press.ts), in workflow time. Not carried across continue-as-new: a new run is unpressed until the next hint.
  const press = new PressSpells();
  setHandler(webhookEventsSignal, (batch, hint) => {
    counters.eventsReceived += batch.length;
    events.push(...batch);
    // Runs recorded before HOLD_WHILE_PRESSED ignored hints (and replay so).
    if (hint?.pressedAt === undefined || !patched(HOLD_WHILE_PRESSED)) return;
    press.hint(hint.pressedAt, Date.now(), patched(SPELLS_BY_HINT_TIME));
  });
  let freshRunRequested = false;
  setHandler(continueAsNewRequestedSignal, () => void (freshRunRequested = true));
  setHandler(credentialsRejectedSignal, ({ workflowId }) => {
    waitingForCredentials.add(workflowId);
    recheckCredentials = true;
  });
  // Redemptions (rule 9): one at a time per contact, so a balance is never spent twice.
  const redeemingContacts = new Set<string>();
  setHandler(
    redeemUpdate,
    async (request) => {
      // Re-checked after every wake-up, and claimed in the same breath: handlers interleave at each await.
      while (redeemingContacts.has(request.contactId)) await condition(() => !redeemingContacts.has(request.contactId));
      redeemingContacts.add(request.contactId);
      try {
        const result = await store.takeRedemptionPoints.executeWithOptions({ summary: `take ${request.points} points for redemption ${request.redemptionId}` }, [
          { merchantId, request },
        ]);
        if (result.outcome === 'accepted' || result.outcome === 'existing') await startRedemption(request);
        return result;
      } finally {
        redeemingContacts.delete(request.contactId);
      }
    },
    {
      validator: (_request: RedemptionRequest) => {
        if (status !== 'active') throw new Error(`merchant ${merchantId} is ${status}: redemptions need an active install`);
      },
    },
  );

  async function startRedemption({ requestHash: _hash, ...request }: RedemptionRequest): Promise<void> {
    try {
      const child = await startChild(redemptionWorkflow, {
        ...redemptionChildOptions(
          { workflowId: redemptionWorkflowId(merchantId, request.redemptionId), merchantId, storeHash },
          `redemption ${request.redemptionId}: ${request.points} points for a ${request.reward.type} coupon`,
        ),
        args: [{ merchantId, ...request }],
      });
      track(child, true);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  setHandler(merchantStateQuery, () => ({
    merchantId,
    storeHash,
    status,
    installedAt,
    generation,
    pendingEvents: events.length,
    counters,
    reconciliation,
    waitingForCredentials: waitingForCredentials.size,
  }));

  // While the webhook route is pressed (holdWhilePressed), a continue-as-new that is not yet due by
  // `historyLimit` waits for the spell to pass: its task would otherwise hold the signals that arrive
  // meanwhile for a second or two in Temporal (README, Performance).
  const pressedNow = () => Date.now() < press.holdsUntil;

  // Runs started before WIND_DOWN continue as new the old way, those before QUIET_FROM_STARTS count quiet from ends only,
  // and those before CHILD_START_TASKS leave no room for the tasks their children's starts wake (and replay so).
  const windsDown = patched(WIND_DOWN);
  const quietFromStarts = patched(QUIET_FROM_STARTS);
  const eventsPerChild = patched(CHILD_START_TASKS) ? EVENTS_PER_CHILD + EVENTS_PER_CHILD_START_TASK : EVENTS_PER_CHILD;
  // Runs started before DEFERRED_WAKES wake a running order at once (and replay so).
  const defersWakes = patched(DEFERRED_WAKES);
  // Runs started before REPORTED_WAITS wake an order of their own if it still runs WAKE_AFTER_MS later (and replay so).
  const reportedWaits = defersWakes && patched(REPORTED_WAITS);
  // Runs started before CONTINUE_AS_NEW_AFTER_PRESS continue as new while pressed (and replay so).
  const afterPress = patched(CONTINUE_AS_NEW_AFTER_PRESS);
  // Runs started before QUIET_AT_WORK count every child quiet after QUIET_MS (and replay so).
  const quietAtWork = reportedWaits && patched(QUIET_AT_WORK);
  /**
   * This run's own orders: order id → its starts in flight and children running (a `created` and a
   * `statusUpdated` in one batch start it twice, and the refused start may be answered first). And
   * the wakes deferred for them, until sent or dropped (order id → new status).
   */
  const ownOrders = new Map<number, number>();
  const deferredWakes = new Map<number, number>();
  /** This run's own orders whose workflow ended with an outcome a second look would not change (credited, or nothing to credit). */
  const ownOrdersSettled = new Set<number>();
  /** (REPORTED_WAITS) This run's own orders that said their first fetch found them Incomplete, until they end. */
  const ownOrdersWaiting = new Set<number>();
  setHandler(orderWaitingSignal, ({ orderId }) => {
    if (ownOrders.has(orderId)) ownOrdersWaiting.add(orderId);
  });
  let sendDeferredWakes = false;
  // Children of this run that have not ended yet (see WIND_DOWN), and when the last one started or ended (workflow time).
  let childrenRunning = 0;
  let lastChildAt = 0;
  /** Redemptions among them (QUIET_AT_WORK): each waits for its coupon to expire. */
  let redemptionsRunning = 0;
  function track(child: { result(): Promise<unknown> }, redemption = false): void {
    childrenRunning++;
    if (redemption) redemptionsRunning++;
    if (quietFromStarts) lastChildAt = Date.now();
    const ended = () => {
      childrenRunning--;
      if (redemption) redemptionsRunning--;
      lastChildAt = Date.now();
    };
    void child.result().then(ended, ended);
  }
  const room = Math.max(20, Math.floor(input.historyLimit / 10));
  /** How many more children this run may start and still have room for their reports. */
  const reportRoom = reportedWaits ? EVENTS_PER_WAIT_REPORT : 0;
  const childrenRoom = () =>
    Math.floor(
      (input.historyLimit - room - workflowInfo().historyLength - EVENTS_PER_RUNNING_CHILD * childrenRunning - reportRoom * Math.max(0, childrenRunning - ownOrdersWaiting.size)) /
        (eventsPerChild + reportRoom),
    );
  const continueAsNewWanted = () => freshRunRequested || workflowInfo().continueAsNewSuggested || (windsDown && childrenRoom() <= 0);
  /** Since QUIET_AT_WORK, whether a child of this run is at work: neither a redemption nor an order that said it waits. */
  const childrenAtWork = () => quietAtWork && childrenRunning - redemptionsRunning - ownOrdersWaiting.size > 0;
  /**
   * When this run's children count as quiet: none running, or none started or ended for QUIET_MS (since
   * QUIET_AT_WORK, QUIET_AT_WORK_MS while a child is at work, unless the run was asked to start afresh).
   */
  const quietAt = () => {
    if (childrenRunning === 0) return 0;
    return lastChildAt + (!freshRunRequested && childrenAtWork() ? QUIET_AT_WORK_MS : QUIET_MS);
  };
  const quiet = () => Date.now() >= quietAt();
  // While the route is pressed (hinted, past a spell's hold too), signals come every few ms: a continue-as-new's task
  // meets one whatever the children do, and waiting for them only fills the run up to `historyLimit` (QUIET_FROM_STARTS).
  // Since CONTINUE_AS_NEW_AFTER_PRESS such a task is not tried while hinted: the run waits for the pressure to pass.
  const hinted = () => quietFromStarts && Date.now() < press.until;
  /** Since CONTINUE_AS_NEW_AFTER_PRESS, while hinted, a run goes on past `historyLimit` up to this many events. */
  const pressedHistoryLimit = input.historyLimit + Math.floor(Math.min(input.historyLimit, HISTORY_BOUND - input.historyLimit) / 2);
  const waitsForPress = () => afterPress && hinted();
  const dueByHistory = () =>
    workflowInfo().historyLength >= (waitsForPress() ? Math.max(input.historyLimit, pressedHistoryLimit - EVENTS_PER_RUNNING_CHILD * childrenRunning) : input.historyLimit);
  /**
   * To continue as new now: due by `historyLimit` (since CONTINUE_AS_NEW_AFTER_PRESS, while hinted, by
   * `pressedHistoryLimit`), or wanted, not pressed and (since WIND_DOWN) quiet or hinted (since
   * CONTINUE_AS_NEW_AFTER_PRESS, quiet and not hinted).
   */
  const continueAsNewNow = () => dueByHistory() || (continueAsNewWanted() && !pressedNow() && !waitsForPress() && (!windsDown || quiet() || hinted()));
  /** Since WIND_DOWN, a run that wants to continue as new starts no more children. */
  const windingDown = () => windsDown && continueAsNewWanted();
  /** While winding down, when to look again though nothing else wakes the loop: the spell's end (since CONTINUE_AS_NEW_AFTER_PRESS, the pressure's), or quiet. */
  const windDownRecheckMs = (): number | undefined => {
    if (!windingDown()) return undefined;
    const at = waitsForPress() ? press.until : Math.max(pressedNow() ? press.holdsUntil : 0, quietAt());
    return at > Date.now() ? at - Date.now() : undefined;
  };
  let installing: Promise<void> | undefined;

  async function verifyAndLink(req: InstallRequested): Promise<void> {
    const wasFailed = status === 'failed';
    generation = req.generation;
    status = 'installing';
    if (req.storeHash !== storeHash) {
      storeHash = req.storeHash;
      upsertSearchAttributes([{ key: StoreHashKey, value: storeHash }]);
    }
    let update: StatusUpdate;
    try {
      const { missingScopes } = await installActivities.verifyScopes.executeWithOptions({ summary: 'probe the API account for the 7 scopes' }, [{ merchantId }]);
      if (missingScopes.length > 0) {
        update = { status: 'failed', missingScopes, webhooks: [], lastError: `the API account lacks these scopes: ${missingScopes.join(', ')}` };
      } else {
        const webhooks = await installActivities.registerWebhooks.executeWithOptions({ summary: 'register the order, refund and status webhooks' }, [{ merchantId }]);
        update = { status: 'active', missingScopes: [], webhooks, lastError: null };
      }
    } catch (err) {
      update = { status: 'failed', missingScopes: [], lastError: describeFailure(err) };
    }
    status = update.status;
    log.info(`install ${req.generation}: ${status}`, { merchantId, generation: req.generation, status, missingScopes: update.missingScopes });
    if (status === 'active') {
      recheckCredentials = false;
      // Back from failed: look at once for what BigCommerce changed meanwhile.
      if (wasFailed && reconciling) sweepDue = true;
    }
    const recorded = await store.recordMerchantStatus.executeWithOptions({ summary: `record status ${update.status}` }, [{ merchantId, generation: req.generation, update }]);
    // installedAt is the first activation (rule 5). Histories recorded before this answered a boolean.
    if (typeof recorded === 'object' && recorded.installedAt !== null) installedAt = recorded.installedAt;
    if (status === 'active') await renewCredentials();
  }

  /** Tells every order and refund waiting for credentials that they work again. */
  async function renewCredentials(): Promise<void> {
    const ids = [...waitingForCredentials];
    waitingForCredentials.clear();
    await Promise.all(
      ids.map((id) =>
        getExternalWorkflowHandle(id)
          .signal(credentialsRenewedSignal)
          .catch(() => undefined), // it ended meanwhile
      ),
    );
  }

  /**
   * A child (or a sweep) met rejected credentials: probe them once. Dead (401)
   * or short of a scope, the merchant turns `failed` and BigCommerce hears no
   * more from us until a re-install; alive (a passing 403, or a token replaced
   * meanwhile), the waiting children try again.
   */
  async function recheck(): Promise<void> {
    recheckCredentials = false;
    let update: StatusUpdate | null = null;
    try {
      const { missingScopes } = await installActivities.verifyScopes.executeWithOptions({ summary: 'credentials were rejected: probe the 7 scopes again' }, [
        { merchantId },
      ]);
      if (missingScopes.length > 0) update = { status: 'failed', missingScopes, lastError: `the API account lacks these scopes: ${missingScopes.join(', ')}` };
    } catch (err) {
      if (isCredentialFailure(err)) update = { status: 'failed', missingScopes: [], lastError: describeFailure(err) };
    }
    if (!update) return renewCredentials();
    log.warn('credentials rejected: merchant failed until a re-install', { merchantId, lastError: update.lastError, missingScopes: update.missingScopes });
    status = 'failed';
    sweep = null;
    await store.recordMerchantStatus.executeWithOptions({ summary: 'record status failed: credentials rejected' }, [{ merchantId, generation, update }]);
  }

  /**
   * One step of a reconciliation (rule 8): a page-set of what BigCommerce
   * changed since the watermark, less what the ledger has; everything found
   * goes through the same order and refund workflows, by the same ids, as its
   * webhook would have. The watermark moves only when a sweep has read both
   * lists to the end, and it is carried across continue-as-new.
   */
  async function sweepStep(s: Sweep): Promise<void> {
    let found: SweepResult & { hooks?: { webhooks: WebhookRef[]; repaired: number } };
    try {
      found = await reconcile.sweep.executeWithOptions({ summary: s.repairHooks ? 'reconcile: missed orders and refunds, webhooks' : 'reconcile: next pages' }, [
        { merchantId, installedAt, orders: s.orders, refunds: s.refunds, repairHooks: s.repairHooks },
      ]);
    } catch (err) {
      sweep = null; // tried again at the next interval, from the same watermark
      if (isCredentialFailure(err)) recheckCredentials = true;
      return;
    }
    s.startedAt ??= found.startedAt;
    if (found.hooks) {
      s.webhooks = found.hooks.webhooks;
      s.webhooksRepaired = found.hooks.repaired;
    }
    for (let i = 0; i < found.orders.length; i += MAX_BATCH) {
      const started = await Promise.all(found.orders.slice(i, i + MAX_BATCH).map(({ orderId, statusId, running }) => recoverOrder(orderId, statusId, running)));
      s.ordersRecovered += started.filter(Boolean).length;
    }
    for (let i = 0; i < found.refunds.length; i += MAX_BATCH) {
      const started = await Promise.all(found.refunds.slice(i, i + MAX_BATCH).map(({ refundId, orderId }) => startRefund(refundId, orderId, true)));
      s.refundsRecovered += started.filter(Boolean).length;
    }
    s.orders = found.ordersNext;
    s.refunds = found.refundsNext;
    s.repairHooks = false;
    if (s.orders || s.refunds) return;

    log.info('reconciliation done', { merchantId, ordersRecovered: s.ordersRecovered, refundsRecovered: s.refundsRecovered, webhooksRepaired: s.webhooksRepaired });
    reconciliation.watermark = s.startedAt;
    reconciliation.lastRunAt = s.startedAt;
    reconciliation.ordersRecovered += s.ordersRecovered;
    reconciliation.refundsRecovered += s.refundsRecovered;
    reconciliation.webhooksRepaired += s.webhooksRepaired;
    sweep = null;
    await store.recordReconciliation.executeWithOptions({ summary: `record reconciliation: ${s.ordersRecovered} orders, ${s.refundsRecovered} refunds recovered` }, [
      {
        merchantId,
        generation,
        reconciliation: { ...reconciliation },
        webhooks: s.webhooks,
        found: { orders: s.ordersRecovered, refunds: s.refundsRecovered, webhooks: s.webhooksRepaired },
      },
    ]);
  }

  /**
   * A missed order: start its workflow (again, if an earlier one ended without
   * a credit: the sweep looked), or wake the one that is running.
   */
  async function recoverOrder(orderId: number, statusId: number, running = false): Promise<boolean> {
    if (!running && (await startOrder(orderId, true))) return true;
    if (statusId !== OrderStatus.Incomplete) await wakeOrder(orderId, statusId);
    return false;
  }

  async function wakeOrder(orderId: number, newStatusId: number): Promise<void> {
    try {
      await getExternalWorkflowHandle(orderWorkflowId(merchantId, orderId)).signal(orderStatusChangedSignal, { newStatusId });
    } catch {
      // The order's workflow already finished: nothing to wake.
    }
  }

  /** The reconciliation timer: marks a sweep due every interval (durable; restarted by each run). */
  async function reconcileEveryInterval(): Promise<void> {
    for (;;) {
      await sleep(reconcileEveryMs);
      sweepDue = true;
    }
  }

  /** Starts a child once; an id already started means a duplicate event. Answers whether it started. */
  async function startOnce(kind: 'order' | 'refund', start: () => Promise<unknown>): Promise<boolean> {
    try {
      await start();
      if (kind === 'order') counters.ordersStarted++;
      else counters.refundsStarted++;
      return true;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        counters.duplicateEvents++;
        return false;
      }
      throw err;
    }
  }

  const startOrder = (orderId: number, revive = false) => {
    const workflowId = orderWorkflowId(merchantId, orderId);
    ownOrders.set(orderId, (ownOrders.get(orderId) ?? 0) + 1);
    const release = () => {
      const n = (ownOrders.get(orderId) ?? 1) - 1;
      if (n > 0) ownOrders.set(orderId, n);
      else {
        ownOrders.delete(orderId);
        ownOrdersWaiting.delete(orderId);
      }
    };
    return startOnce('order', () =>
      startChild(orderWorkflow, {
        ...childOptions({ workflowId, merchantId, storeHash, orderId }, `order ${orderId} of ${merchantId}`, revive),
        args: [{ merchantId, orderId }],
      }).then(
        (child) => {
          track(child);
          const ended = (result: OrderResult) => {
            if (SETTLED_ORDER_OUTCOMES.includes(result.outcome)) ownOrdersSettled.add(orderId);
            release();
          };
          void child.result().then(ended, release);
        },
        (err: unknown) => {
          release();
          throw err;
        },
      ),
    );
  };

  /**
   * DEFERRED_WAKES: the wake of an order of this run's own that left Incomplete, sent if it still runs WAKE_AFTER_MS
   * later (since REPORTED_WAITS: once it has said it waits; one that ended is started again if it ended with nothing
   * credited). A later status change of the same order replaces the one to send.
   */
  async function deferWake(orderId: number, newStatusId: number): Promise<void> {
    const already = deferredWakes.has(orderId);
    deferredWakes.set(orderId, newStatusId);
    if (already) return;
    try {
      if (reportedWaits) await condition(() => ownOrdersWaiting.has(orderId) || !ownOrders.has(orderId) || sendDeferredWakes);
      else await condition(() => !ownOrders.has(orderId) || sendDeferredWakes, WAKE_AFTER_MS, { summary: `wake order ${orderId} if it still runs` });
      const latest = deferredWakes.get(orderId)!;
      if (ownOrders.has(orderId)) await wakeOrder(orderId, latest);
      // (REPORTED_WAITS) It ended with nothing credited, or it was never this run's (a duplicate `created` whose start
      // was refused): started again, or woken where it runs. On a continue-as-new too: the next run would not know of it.
      else if (reportedWaits && !ownOrdersSettled.has(orderId) && !(await startOrder(orderId, true))) await wakeOrder(orderId, latest);
    } finally {
      deferredWakes.delete(orderId);
    }
  }

  const startRefund = (refundId: number, orderId: number, revive = false) => {
    const workflowId = refundWorkflowId(merchantId, refundId);
    return startOnce('refund', () =>
      startChild(refundWorkflow, {
        ...childOptions({ workflowId, merchantId, storeHash, orderId }, `refund ${refundId} of order ${orderId}`, revive),
        args: [{ merchantId, orderId, refundId, installedAt }],
      }).then(track),
    );
  };

  async function dispatch(event: WebhookEvent): Promise<void> {
    switch (event.scope) {
      case 'store/order/created':
        await startOrder(event.orderId);
        return;
      case 'store/order/refund/created':
        await startRefund(event.refundId, event.orderId);
        return;
      case 'store/order/statusUpdated':
        // Rule 6: status changes never change points. One leaving Incomplete only wakes
        // (or, if its `created` event was lost, starts) the order's workflow.
        counters.statusUpdates++;
        if (event.previousStatusId !== 0 || event.newStatusId === 0) return;
        // (DEFERRED_WAKES) An order this run's own workflow credited was placed when it fetched it: nothing to look at.
        if (defersWakes && ownOrdersSettled.has(event.orderId)) return;
        // (REPORTED_WAITS) One of this run's own whose end it has not heard of is not started again: it is woken once
        // it says it waits, or seen to when it ends.
        if (reportedWaits && ownOrders.has(event.orderId)) {
          void deferWake(event.orderId, event.newStatusId);
          return;
        }
        // An order that left Incomplete after its workflow gave up (or never started) is looked at again.
        if (await startOrder(event.orderId, true)) return;
        // A deferred wake is not awaited: the events after it go on meanwhile.
        if (defersWakes && ownOrders.has(event.orderId)) void deferWake(event.orderId, event.newStatusId);
        else await wakeOrder(event.orderId, event.newStatusId);
        return;
    }
  }

  /**
   * While the API's webhook route is pressed, new events wait instead of
   * starting their workflows, for at most HOLD_AT_MOST_MS (press.ts) of a spell and
   * HOLD_AT_MOST_EVENTS events: on a machine the API shares with a yielding
   * worker, starting them would take the Temporal server's time that the
   * acknowledgements need, and the worker would not run them yet (README,
   * Performance). Answers whether it waited: the loop then looks again at
   * everything (an uninstall, a continue-as-new due by `historyLimit` and an
   * install end the wait; a continue-as-new merely asked for or suggested
   * waits for the spell to pass).
   */
  async function holdWhilePressed(): Promise<boolean> {
    if (!pressedNow() || events.length >= HOLD_AT_MOST_EVENTS) return false;
    await condition(() => uninstallRequested || continueAsNewNow() || (pendingInstall !== null && !installing) || events.length >= HOLD_AT_MOST_EVENTS, press.holdsUntil - Date.now(), {
      summary: `hold ${events.length} events while the webhook route is pressed`,
    });
    return true;
  }

  const dispatchAll = async () => {
    while (events.length > 0) await Promise.all(events.splice(0, MAX_BATCH).map(dispatch));
  };
  const canSweep = () => reconciling && status === 'active' && !installing;
  const workToDo = () =>
    uninstallRequested ||
    continueAsNewNow() ||
    (events.length > 0 && !windingDown()) ||
    (pendingInstall !== null && !installing) ||
    (canSweep() && (sweepDue || sweep !== null || recheckCredentials));

  for (;;) {
    if (!reconciling && patched(RECONCILIATION)) {
      reconciling = true;
      void reconcileEveryInterval();
    }
    const recheckMs = windDownRecheckMs();
    // (QUIET_AT_WORK) Its children's quiet time shortens once the last one at work says it waits: look again then.
    const quietWas = quietAt();
    const wakeWhen = quietAtWork ? () => workToDo() || quietAt() < quietWas : workToDo;
    if (recheckMs === undefined) await condition(wakeWhen);
    else await condition(wakeWhen, recheckMs, { summary: `wind down: ${childrenRunning} children of this run still running, ${events.length} events for the next run` });
    if (uninstallRequested) {
      await installing;
      // Events already answered 200 are BigCommerce's last word on them: start their workflows first.
      if (patched(DISPATCH_BEFORE_UNINSTALL)) await dispatchAll();
      let lastError: string | undefined;
      try {
        await installActivities.deleteWebhooks.executeWithOptions({ summary: 'delete the webhooks this integration registered' }, [{ merchantId }]);
      } catch (err) {
        lastError = `uninstalled, but the webhooks could not be deleted: ${describeFailure(err)}`;
      }
      uninstallRequested = false;
      // A re-install that came in meanwhile is served by this same workflow: go round again.
      if (pendingInstall !== null) continue;
      // Fenced by the generation the uninstall saw when it superseded an install this run never served.
      const recorded = await store.markUninstalled({ merchantId, generation: Math.max(generation, uninstallGeneration), lastError });
      // Not recorded: a re-install was saved since; its signal is on the way (the API saves, then signals).
      // (Strictly false: runs recorded before this fence got no answer here and must replay unchanged.)
      if (recorded === false) await condition(() => pendingInstall !== null, '1 minute');
      if (pendingInstall !== null) continue;
      status = 'uninstalled';
      return { status, counters };
    }
    if (continueAsNewNow()) {
      await installing;
      await condition(allHandlersFinished);
      // The wakes still deferred go now: the next run does not know these orders as its own.
      sendDeferredWakes = true;
      await condition(() => deferredWakes.size === 0);
      const packed = patched(PACKED_EVENTS);
      // Runs since TASK_TIMEOUT hand their successor the install's task timeout, 60 s unless set (runs started before it had Temporal's 10 s).
      const taskTimeoutMs = (input.taskTimeoutSeconds ?? MERCHANT_WORKFLOW_TASK_TIMEOUT_S) * 1000;
      const next = patched(TASK_TIMEOUT) ? makeContinueAsNewFunc<typeof merchantWorkflow>({ workflowTaskTimeout: taskTimeoutMs }) : continueAsNew<typeof merchantWorkflow>;
      return next({
        ...input,
        storeHash,
        installedAt,
        carried: {
          status,
          generation,
          pendingInstall,
          uninstallRequested,
          uninstallGeneration,
          events: packed ? [] : events,
          ...(packed ? { packedEvents: packEvents(events) } : {}),
          counters,
          reconciliation,
          // A sweep cut short starts over in the next run, from the same watermark.
          sweepDue: sweepDue || sweep !== null,
          waitingForCredentials: [...waitingForCredentials],
          recheckCredentials,
        },
      });
    }
    if (pendingInstall !== null && !installing) {
      const req: InstallRequested = pendingInstall;
      pendingInstall = null;
      installing = verifyAndLink(req).finally(() => void (installing = undefined));
    }
    if (events.length > 0 && (await holdWhilePressed())) continue;
    if (events.length > 0 && !windingDown()) await Promise.all(events.splice(0, windsDown ? Math.min(MAX_BATCH, Math.max(1, childrenRoom())) : MAX_BATCH).map(dispatch));
    if (!canSweep()) continue;
    if (recheckCredentials) {
      await recheck();
      continue;
    }
    if (sweepDue && sweep === null) {
      sweepDue = false;
      const from = { from: (reconciliation.watermark ?? installedAt) - RECONCILE_OVERLAP_MS, page: 1 };
      sweep = { orders: from, refunds: from, repairHooks: true, startedAt: null, ordersRecovered: 0, refundsRecovered: 0, webhooksRepaired: 0, webhooks: null };
    }
    if (sweep) await sweepStep(sweep);
  }
}
