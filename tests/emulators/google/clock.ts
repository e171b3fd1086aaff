// Controllable clock. By default it tracks real time plus an offset, so "set" and "advance"
// move the emulator's notion of now (token and channel expiry, updated timestamps) without
// stopping time. "freeze" pins it so tests can make exact assertions.

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
