// The rollback note in a migration's header: the comment paragraph that starts with
// "-- Rollback:". Its lines indented by two or more spaces after "--" are SQL to run, newest
// migration first; the other lines are prose (when, what data is lost). Tests check that the
// SQL names everything its migration makes, and run it on a scratch database.

import { displayName, type Manifest, type MigrationFile } from "./manifest.ts";

export interface RollbackNote {
  /** The whole note, prose included, without the comment markers. */
  text: string;
  /** Its SQL lines, in order. */
  sql: string;
}

/** The migration's rollback note, or null when its header has none. */
export function readRollbackNote(migration: MigrationFile): RollbackNote | null {
  const header: string[] = [];
  for (const line of migration.sql.split("\n")) {
    if (!line.startsWith("--")) break;
    header.push(line);
  }
  const start = header.findIndex((line) => /^-- Rollback:/.test(line));
  if (start === -1) return null;
  const section = header.slice(start);
  return {
    text: section.map((line) => line.replace(/^--\s?/, "")).join("\n"),
    sql: section.filter((line) => /^--\s{2,}\S/.test(line)).map((line) => line.slice(2).trim())
      .join("\n"),
  };
}

function mentions(sql: string, name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(?<![\\w$])${escaped}(?![\\w$])`, "i").test(sql);
}

/**
 * What `file` makes (by the manifest of all migrations) that its rollback SQL does not name:
 * its tables, views, functions and cron jobs, and the triggers, policies, indexes and columns it
 * adds to other migrations' tables (those on its own tables go with them).
 */
export function objectsNotRolledBack(manifest: Manifest, file: string, sql: string): string[] {
  const own = <T extends { source: { file: string } }>(items: T[]) =>
    items.filter((item) => item.source.file === file);
  const ownRelations = new Set(
    [...own(manifest.tables), ...own(manifest.views)].map((relation) => displayName(relation)),
  );
  const onOthers = <T extends { table: { schema: string; name: string } }>(items: T[]) =>
    items.filter((item) => !ownRelations.has(displayName(item.table)));
  const expected = [
    ...own(manifest.tables).map((t) => ({ kind: "table", name: displayName(t) })),
    ...own(manifest.views).map((v) => ({ kind: "view", name: displayName(v) })),
    ...own(manifest.functions).map((f) => ({ kind: "function", name: displayName(f) })),
    ...own(manifest.cronJobs).map((j) => ({ kind: "cron job", name: `'${j.name}'` })),
    ...onOthers(own(manifest.triggers)).map((t) => ({ kind: "trigger", name: t.name })),
    ...onOthers(own(manifest.policies)).map((p) => ({ kind: "policy", name: `"${p.name}"` })),
    ...onOthers(own(manifest.indexes)).map((i) => ({ kind: "index", name: displayName(i) })),
    ...manifest.tables.filter((t) => !ownRelations.has(displayName(t))).flatMap((t) =>
      own(t.columns).map((c) => ({ kind: `column of ${displayName(t)}`, name: c.name }))
    ),
  ];
  return expected.filter((object) => !mentions(sql, object.name))
    .map((object) => `${object.kind} ${object.name}`);
}
