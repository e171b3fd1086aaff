// Controllable emulator clock. It follows real time plus an offset by default; "set" and
// "advance" move it, "freeze" pins it. It drives minute-rounded created/last_edited times,
// OAuth token and auth-code expiry, the rate-limit bucket and webhook envelope timestamps.
// Invariant: now() is monotonic while neither set() nor advance() with a negative step is used.

export class Clock {
  #offsetMs = 0;
  #frozenAt: number | undefined;

  now(): number {
    return this.#frozenAt ?? Date.now() + this.#offsetMs;
  }

  set(ms: number): void {
    if (this.#frozenAt !== undefined) this.#frozenAt = ms;
    else this.#offsetMs = ms - Date.now();
  }

  advance(ms: number): void {
    this.set(this.now() + ms);
  }

  freeze(): void {
    this.#frozenAt = this.now();
  }

  unfreeze(): void {
    const now = this.now();
    this.#frozenAt = undefined;
    this.set(now);
  }

  reset(): void {
    this.#offsetMs = 0;
    this.#frozenAt = undefined;
  }

  describe(): { now: string; nowMs: number; offsetMs: number; frozen: boolean } {
    const now = this.now();
    return {
      now: new Date(now).toISOString(),
      nowMs: now,
      offsetMs: now - Date.now(),
      frozen: this.#frozenAt !== undefined,
    };
  }
}
