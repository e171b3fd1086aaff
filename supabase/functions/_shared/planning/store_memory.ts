/**
 * An in-memory ScheduleStore with the SQL functions' semantics (the mark, claims, optimistic
 * concurrency on session versions, apply-and-finish), for unit tests and benchmarks of the
 * planning job without a database. One user's state; hooks let a test interleave edits and
 * races; counters let it assert what was written.
 */
import type {
  ApplyOutcome,
  ApplyRequest,
  Claim,
  LoadedInputs,
  RecalcTrigger,
  ScheduleStore,
  StoredBusy,
  StoredPreferences,
  StoredSession,
} from "./store.ts";

function sortKeys(o: Record<string, number>) {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}

export class MemoryScheduleStore implements ScheduleStore {
  sessions = new Map<string, StoredSession>();
  busy: StoredBusy[] = [];
  preferences: StoredPreferences | null = null;
  state = {
    needs_run: false,
    trigger: null as RecalcTrigger | null,
    claim: null as string | null,
    last_input_hash: null as string | null,
  };
  runs: ApplyRequest["run"][] = [];
  applies: ApplyRequest[] = [];
  /** Every release of a claim: null for a clean one, else the error. */
  finishes: (string | null)[] = [];
  loads = 0;
  running = 0;
  maxRunning = 0;
  /** Called on every read of the inputs (the n-th read), e.g. to edit a session mid-run. */
  onLoad?: (n: number) => void | Promise<void>;
  /** Forces the outcome of the n-th apply. */
  applyOverride?: (n: number) => "conflict" | "lease_lost" | undefined;
  users: string[] = ["u1"];
  unserved: string[] = [];
  /** When false, a claim returns no inputs and the job reads them itself. */
  loadOnClaim = true;

  constructor(sessions: StoredSession[] = []) {
    for (const s of sessions) this.sessions.set(s.id, structuredClone(s));
  }

  requestRecalc(_userId: string, trigger: RecalcTrigger) {
    this.state.needs_run = true;
    this.state.trigger = trigger;
    return Promise.resolve({ running: this.state.claim !== null });
  }

  async claimRecalc(
    userId: string,
    _leaseSeconds: number,
    load?: { from: number; to: number },
  ): Promise<Claim | null> {
    if (!this.state.needs_run || this.state.claim !== null) return null;
    this.state.needs_run = false;
    this.state.claim = crypto.randomUUID();
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    return {
      claim_token: this.state.claim,
      last_input_hash: this.state.last_input_hash,
      trigger: this.state.trigger,
      inputs: load && this.loadOnClaim ? await this.loadInputs(userId) : null,
    };
  }

  #release(token: string, error: string | null): boolean {
    if (token !== this.state.claim) {
      throw new Error("finish by someone who does not hold the claim");
    }
    this.state.claim = null;
    this.running--;
    this.finishes.push(error);
    if (error !== null) this.state.needs_run = true;
    return this.state.needs_run && error === null;
  }

  finishRecalc(_userId: string, token: string, error: string | null) {
    return Promise.resolve({ needs_run: this.#release(token, error) });
  }

  async loadInputs(_userId?: string): Promise<LoadedInputs> {
    this.loads++;
    await this.onLoad?.(this.loads);
    return structuredClone({
      preferences: this.preferences,
      sessions: [...this.sessions.values()],
      busy: this.busy,
    });
  }

  applyPlan(request: ApplyRequest): Promise<ApplyOutcome> {
    this.applies.push(request);
    const forced = this.applyOverride?.(this.applies.length);
    if (forced) return Promise.resolve({ status: forced });
    if (request.claimToken !== this.state.claim) return Promise.resolve({ status: "lease_lost" });
    const current = Object.fromEntries([...this.sessions.values()].map((s) => [s.id, s.version]));
    if (JSON.stringify(sortKeys(current)) !== JSON.stringify(sortKeys(request.expected.sessions))) {
      return Promise.resolve({ status: "conflict" });
    }
    for (const c of request.changes) {
      const s = this.sessions.get(c.id)!;
      s.status = c.status;
      s.unscheduled_reason = c.unscheduled_reason;
      if (!s.locked) s.blocks = c.blocks.map((b) => ({ ...b }));
      s.version++;
    }
    let runId: string | null = null;
    if (request.run) {
      this.runs.push(request.run);
      runId = `run-${this.runs.length}`;
    }
    this.state.last_input_hash = request.inputHash;
    const needsRun = request.finish ? this.#release(request.claimToken, null) : false;
    return Promise.resolve({ status: "applied", run_id: runId, needs_run: needsRun });
  }

  usersToPlan() {
    return Promise.resolve(this.users);
  }

  unservedMarks() {
    return Promise.resolve(this.unserved);
  }
}
