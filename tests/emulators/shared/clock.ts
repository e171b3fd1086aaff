// The emulators' controllable clock (shared by the Google, Calendly and Notion emulators; like
// them it imports nothing from the bundle). By default it tracks real time plus an offset, so
// "set" and "advance" move an emulator's notion of now (token, code and channel expiry, edit
// and delivery timestamps, rate-limit windows) without stopping time; "freeze" pins it so
// tests can make exact assertions. Invariant: now() depends on nothing but real time, the
// offset and the freeze.

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

  /**
   * The control API's `POST /__emulator/clock` body, applied in order: `real` (back to real
   * time), `set` (ms or an ISO date), `advanceMs` / `advanceSeconds`, `freeze` (true/false).
   * Returns what is wrong with the body, or null.
   */
  move(body: Record<string, unknown>): string | null {
    if (body.real === true) this.reset();
    if (body.set !== undefined) {
      const ms = typeof body.set === "number" ? body.set : Date.parse(String(body.set));
      if (!Number.isFinite(ms)) return "set must be ms or an ISO date";
      this.set(ms);
    }
    const advance = Number(body.advanceMs ?? 0) + Number(body.advanceSeconds ?? 0) * 1000;
    if (!Number.isFinite(advance)) return "advance must be numeric";
    if (advance) this.advance(advance);
    if (body.freeze === true) this.freeze();
    if (body.freeze === false) this.unfreeze();
    return null;
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
