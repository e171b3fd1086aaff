// An in-memory DurableTokenStore with the semantics of the connection row's SQL functions
// (connection_begin/finish/abort_token_refresh): a fresh stored token is handed out, otherwise
// one caller at a time takes the refresh claim; the new tokens are stored before the claim is
// released. Several TokenSources sharing one of these behave like several function instances
// sharing a connection row (unit tests of rotation safety, benchmarks).
import type { Clock } from "../clock.ts";
import { systemClock } from "../clock.ts";
import type {
  AccessToken,
  DurableRefreshStart,
  DurableTokenStore,
  TokenGrant,
} from "./token_source.ts";

export class MemoryTokenRow {
  refreshToken: string;
  access: AccessToken | null = null;
  status: "active" | "needs_reauth" = "active";
  claim: string | null = null;
  claimUntil = 0;
  lastError: string | null = null;
  /** Refresh tokens this row has held, in order (the first is the one it started with). */
  history: string[] = [];

  constructor(refreshToken: string, readonly clock: Clock = systemClock) {
    this.refreshToken = refreshToken;
    this.history.push(refreshToken);
  }

  /** The store one TokenSource sees (each call of begin/finish is one atomic step). */
  store(options: { leaseMs?: number; minValidMs?: number } = {}): DurableTokenStore {
    const leaseMs = options.leaseMs ?? 30_000;
    const minValidMs = options.minValidMs ?? 60_000;
    return {
      begin: (rejected): Promise<DurableRefreshStart> => {
        const now = this.clock.now();
        if (this.status !== "active") {
          return Promise.resolve({ state: "inactive", status: this.status });
        }
        if (
          this.access && this.access.expiresAt > now + minValidMs &&
          this.access.accessToken !== rejected
        ) {
          return Promise.resolve({ state: "fresh", token: { ...this.access } });
        }
        if (this.claim !== null && this.claimUntil > now) {
          return Promise.resolve({ state: "busy", retryInMs: 5 });
        }
        this.claim = crypto.randomUUID();
        this.claimUntil = now + leaseMs;
        return Promise.resolve({
          state: "claimed",
          claim: this.claim,
          refreshToken: this.refreshToken,
        });
      },
      finish: (claim: string, grant: TokenGrant) => {
        this.access = { accessToken: grant.accessToken, expiresAt: grant.expiresAt };
        if (grant.refreshToken) {
          this.refreshToken = grant.refreshToken;
          this.history.push(grant.refreshToken);
        }
        if (this.claim === claim) this.claim = null;
        return Promise.resolve();
      },
      abort: (claim: string, error: string, needsReauth: boolean) => {
        if (this.claim !== claim) return Promise.resolve();
        this.claim = null;
        this.lastError = error;
        if (needsReauth) this.status = "needs_reauth";
        return Promise.resolve();
      },
    };
  }
}
