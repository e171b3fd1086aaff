// Telling the app when to read again. Polling always works (the local stack has no Realtime
// server, and a project whose tables are not published to Realtime sends nothing); where the
// project publishes the user's tables to `supabase_realtime`, a Realtime feed makes changes show
// at once, polling slows down to a backstop, and every (re)subscription reads again, so nothing
// missed while disconnected stays missed.
import type { RealtimeChannel, SupabaseClient } from "@supabase/supabase-js";

export interface WatchOptions {
  /** How often to read again while no Realtime feed is live. Default 2000 ms. */
  pollMs?: number;
  /**
   * Listen to Supabase Realtime (postgres_changes on the user's rows of WATCHED_TABLES). Only
   * useful when the project publishes those tables to `supabase_realtime`. Default false.
   */
  realtime?: boolean;
  /** How often to read again while the Realtime feed is live. Default 30000 ms. */
  backstopMs?: number;
  /** A failed read (the loop goes on). */
  onError?: (error: unknown) => void;
}

export interface Watch {
  /** Read again now (coalesced with a read in progress). */
  refresh(): void;
  stop(): Promise<void>;
}

/**
 * The tables whose changes the week depends on. Only tables without secret columns: Realtime
 * sends a published table's whole rows to whoever its RLS lets see them, so the connections
 * (sealed tokens), sync state (cursors), channels (token hashes) and the queue (sealed grants)
 * must not be published; their changes arrive with the backstop read.
 */
export const WATCHED_TABLES = ["calendar_events", "sessions", "session_blocks"] as const;

/**
 * Runs `read` now, then again every `intervalMs()` after the previous read ended; `trigger()`
 * runs it at once, and a trigger during a read runs it exactly once more afterwards (never two
 * reads at the same time).
 */
export class CoalescingLoop {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | null = null;
  #again = false;
  #stopped = false;

  constructor(
    private readonly read: () => Promise<void>,
    private readonly intervalMs: () => number,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  trigger(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#running = this.#run();
  }

  /** Re-arms the timer with the current interval (after the interval changed). */
  reschedule(): void {
    if (this.#stopped || this.#running) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.trigger(), this.intervalMs());
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  async #run(): Promise<void> {
    do {
      this.#again = false;
      try {
        await this.read();
      } catch (error) {
        this.onError(error);
      }
    } while (this.#again && !this.#stopped);
    this.#running = null;
    this.reschedule();
  }
}

/** Calls `read` now and whenever the user's data may have changed, until `stop()`. */
export function watchChanges(
  supabase: SupabaseClient,
  userId: string,
  read: () => Promise<void>,
  options: WatchOptions = {},
): Watch {
  const pollMs = options.pollMs ?? 2_000;
  const backstopMs = options.backstopMs ?? 30_000;
  let live = false;
  const loop = new CoalescingLoop(read, () => live ? backstopMs : pollMs, options.onError);
  let channel: RealtimeChannel | null = null;

  if (options.realtime) {
    channel = supabase.channel(`calendar-sync:${userId}:${crypto.randomUUID()}`);
    for (const table of WATCHED_TABLES) {
      channel.on(
        "postgres_changes",
        { event: "*", schema: "public", table, filter: `user_id=eq.${userId}` },
        () => loop.trigger(),
      );
    }
    channel.subscribe((status) => {
      const wasLive = live;
      live = status === "SUBSCRIBED";
      // (Re)subscribed: read what may have changed meanwhile. Lost: back to fast polling.
      if (live) loop.trigger();
      else if (wasLive) loop.reschedule();
    });
  }
  loop.trigger();

  return {
    refresh: () => loop.trigger(),
    async stop() {
      await loop.stop();
      if (channel) await supabase.removeChannel(channel);
    },
  };
}
