// Controllable emulator clock. By default it follows real time plus an offset, so "set" and
// "advance" move the emulator's notion of now (token expiry, auth-code expiry, signature `t`,
// rate-limit windows, created_at/updated_at) without stopping time; "freeze" pins it for exact
// assertions. Invariant: now() never depends on anything but real time, offset and the freeze.

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
