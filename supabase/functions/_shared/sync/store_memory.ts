// An in-memory SyncStore with the same contract as the SQL functions of the sync core (claims
// with leases and tokens, generations, follow-up claims at the last page, the mirror with
// version ordering), for unit tests and benchmarks of the runner without a database. It keeps
// one calendar per target and exposes its state for assertions; hooks let a test interleave
// "notifications" with a running sync.
import { type Clock, systemClock } from "../clock.ts";
import type { StorePageInput, StorePageResult, SyncStore } from "./store.ts";
import type { ClaimRefusal, ConnectionRecord, MirrorItem, SyncClaim, SyncTarget } from "./types.ts";

export interface MemoryCalendarState {
  cursor: string | null;
  fullSyncRequired: boolean;
  needsSync: boolean;
  claim: string | null;
  leaseUntil: number;
  generation: number;
  timeZone: string | null;
  lastError: string | null;
  /** Every finish() error, in order (null for a clean finish). */
  finishes: (string | null)[];
  mirror: Map<string, MirrorItem & { seenGeneration: number }>;
  /** Every page stored, in order. */
  pages: StorePageInput[];
}

export interface MemorySyncStore extends SyncStore {
  connection: ConnectionRecord;
  state(target: SyncTarget): MemoryCalendarState;
  /** Marks the calendar, as a notification would. */
  mark(target: SyncTarget): void;
  reauth: string[];
  /** Called after every stored page (e.g. to mark the calendar mid-run). */
  onPageStored?: (input: StorePageInput) => void;
}

export function createMemorySyncStore(
  connection: Partial<ConnectionRecord> = {},
  clock: Clock = systemClock,
): MemorySyncStore {
  const calendars = new Map<string, MemoryCalendarState>();
  const key = (t: SyncTarget) => `${t.connectionId}\u0000${t.calendarId}`;
  const conn: ConnectionRecord = {
    id: "connection-1",
    user_id: "user-1",
    provider: "google",
    external_account_id: "account@example.test",
    settings: {},
    refresh_token_encrypted: null,
    access_token_encrypted: null,
    access_token_expires_at: null,
    ...connection,
  };

  const state = (target: SyncTarget): MemoryCalendarState => {
    let s = calendars.get(key(target));
    if (!s) {
      s = {
        cursor: null,
        fullSyncRequired: true,
        needsSync: true,
        claim: null,
        leaseUntil: 0,
        generation: 0,
        timeZone: "UTC",
        lastError: null,
        finishes: [],
        mirror: new Map(),
        pages: [],
      };
      calendars.set(key(target), s);
    }
    return s;
  };

  const take = (s: MemoryCalendarState, leaseSeconds: number): SyncClaim => {
    s.claim = crypto.randomUUID();
    s.leaseUntil = clock.now() + leaseSeconds * 1000;
    s.needsSync = false;
    if (s.fullSyncRequired || s.cursor === null) s.generation++;
    const full = s.fullSyncRequired || s.cursor === null;
    return {
      claim: s.claim,
      cursor: full ? null : s.cursor,
      fullSync: full,
      generation: s.generation,
      timeZone: s.timeZone,
      lastSyncedAt: null,
      connection: conn,
    };
  };

  const store: MemorySyncStore = {
    connection: conn,
    reauth: [],
    state,
    mark(target) {
      state(target).needsSync = true;
    },

    claim(target, leaseSeconds) {
      const s = state(target);
      let refusal: ClaimRefusal | null = null;
      const abandoned = s.claim !== null && s.leaseUntil < clock.now();
      if (s.claim !== null && s.leaseUntil >= clock.now()) refusal = "running";
      else if (!s.needsSync && !abandoned) refusal = "not_marked";
      return Promise.resolve(refusal ?? take(s, leaseSeconds));
    },

    extendLease(target, claim, leaseSeconds) {
      const s = state(target);
      if (s.claim !== claim) return Promise.resolve(false);
      s.leaseUntil = clock.now() + leaseSeconds * 1000;
      return Promise.resolve(true);
    },

    restartFull(target, claim) {
      const s = state(target);
      if (s.claim !== claim) return Promise.resolve(null);
      s.cursor = null;
      s.fullSyncRequired = true;
      return Promise.resolve(++s.generation);
    },

    storePage(input): Promise<StorePageResult> {
      const s = state(input);
      if (s.claim !== input.claim || s.generation !== input.generation) {
        return Promise.resolve({ status: "lost" });
      }
      s.pages.push(input);
      let busyChanged = false;
      let upserted = 0;
      let inserted = 0;
      for (const item of input.page.items) {
        const old = s.mirror.get(item.external_id);
        const newer = !old || !item.external_updated_at || !old.external_updated_at ||
          item.external_updated_at >= old.external_updated_at;
        if (newer && (!old || old.etag !== item.etag || !item.etag)) {
          upserted++;
          if (!old) inserted++;
          if (
            item.is_busy || old?.is_busy
              ? !old || old.starts_at !== item.starts_at || old.ends_at !== item.ends_at ||
                old.is_busy !== item.is_busy
              : false
          ) busyChanged = true;
          s.mirror.set(item.external_id, { ...item, seenGeneration: input.generation });
        } else if (old) {
          old.seenGeneration = input.generation;
        }
      }
      let deleted = 0;
      for (const id of input.page.removedIds) {
        const old = s.mirror.get(id);
        if (old && s.mirror.delete(id)) {
          deleted++;
          busyChanged ||= old.is_busy;
        }
      }
      this.onPageStored?.(input);
      if (input.page.nextCursor === undefined) {
        s.leaseUntil = clock.now() + input.leaseSeconds * 1000;
        return Promise.resolve({
          status: "stored",
          inserted,
          updated: upserted - inserted,
          upserted,
          deleted,
          busyChanged,
          finished: false,
          followUp: null,
        });
      }
      if (input.isFullSync) {
        for (const [id, row] of s.mirror) {
          if (row.seenGeneration >= input.generation) continue;
          if (input.sweep.unseen === "delete") {
            s.mirror.delete(id);
            deleted++;
          } else row.status = "cancelled";
          busyChanged ||= row.is_busy;
        }
      }
      s.cursor = input.page.nextCursor;
      s.fullSyncRequired = false;
      s.timeZone = input.page.timeZone ?? s.timeZone;
      s.lastError = null;
      s.claim = null;
      const followUp = s.needsSync ? take(s, input.leaseSeconds) : null;
      return Promise.resolve({
        status: "stored",
        inserted,
        updated: upserted - inserted,
        upserted,
        deleted,
        busyChanged,
        finished: true,
        followUp,
      });
    },

    finish(target, claim, error, options = {}) {
      const s = state(target);
      if (s.claim !== claim) return Promise.resolve({ finished: false, needsSync: false });
      s.claim = null;
      s.lastError = error;
      s.finishes.push(error);
      s.needsSync ||= error !== null || options.remark === true;
      return Promise.resolve({ finished: true, needsSync: s.needsSync });
    },

    markNeedsReauth(_connectionId, reason) {
      store.reauth.push(reason);
      return Promise.resolve();
    },
  };
  return store;
}
