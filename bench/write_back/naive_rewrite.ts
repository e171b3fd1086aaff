// The write-back benchmark's baseline: the naive way to keep a calendar equal to a plan — on
// every plan, delete every event written for the previous one and insert one event per block
// again. Bench-only; it talks to the Google emulator's Calendar API directly (plain fetch, one
// request at a time, as the project writes one connection's items one after another because
// Google limits rapid writes to one calendar) and counts its own requests.
import { stack } from "../../devkit/stack.ts";

export interface PlannedBlock {
  title: string;
  startsAt: Date;
  endsAt: Date;
}

export interface RewriteReport {
  ms: number;
  inserts: number;
  deletes: number;
}

export class NaiveRewriter {
  /** Ids of the events this rewriter wrote for the last plan. */
  #written: string[] = [];

  constructor(private readonly token: string, private readonly calendarId: string) {}

  async #request(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const response = await fetch(
      `${stack.googleEmulatorUrl}/calendar/v3/calendars/${
        encodeURIComponent(this.calendarId)
      }/events${path}`,
      {
        method,
        headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      },
    );
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`naive ${method} events${path} → ${response.status}: ${text}`);
    }
    return text ? JSON.parse(text) : {};
  }

  /** Makes the calendar hold exactly `plan`: everything written before goes, all of it is new. */
  async rewrite(plan: PlannedBlock[]): Promise<RewriteReport> {
    const started = performance.now();
    const report = { ms: 0, inserts: 0, deletes: 0 };
    for (const id of this.#written) {
      await this.#request("DELETE", `/${id}`);
      report.deletes++;
    }
    this.#written = [];
    for (const block of plan) {
      const event = await this.#request("POST", "", {
        summary: block.title,
        start: { dateTime: block.startsAt.toISOString() },
        end: { dateTime: block.endsAt.toISOString() },
        transparency: "opaque",
      });
      this.#written.push(String(event.id));
      report.inserts++;
    }
    report.ms = performance.now() - started;
    return report;
  }
}
