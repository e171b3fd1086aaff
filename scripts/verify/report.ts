// How verification results read: one ✅/❌ line per check, self-contained (the kind of object is
// on every line, so a failing line can be searched for on its own), then a summary that names
// everything that failed.

import type { CheckResult } from "./checks.ts";

export function formatLine(result: CheckResult): string {
  const mark = result.ok ? "✅" : "❌";
  const detail = result.detail ? ` — ${result.detail}` : "";
  // Where the migrations make it, when it is missing: the place to look.
  const where = !result.ok && result.source ? ` (${result.source.file}:${result.source.line})` : "";
  return `${mark} ${result.category} ${result.subject}${detail}${where}`;
}

export function formatSummary(results: CheckResult[]): string[] {
  const failed = results.filter((result) => !result.ok);
  const lines = [
    `${results.length} checks: ${results.length - failed.length} ✅, ${failed.length} ❌`,
  ];
  if (failed.length) {
    lines.push(
      `Missing or different: ${failed.map((r) => `${r.category} ${r.subject}`).join("; ")}`,
    );
  }
  return lines;
}

/** A connection string fit to print: the password replaced. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(a connection string that is not a URL)";
  }
}
