// Notion-Version header handling. 2025-09-03 introduced data sources; 2026-03-11 dropped the
// `archived` alias of `in_trash`. Invariant: every API request except POST /v1/oauth/token
// carries a version this module accepted (see server.ts).

export interface ApiVersion {
  value: string;
  /** 2025-09-03 or later: databases expose data_sources; pages have data_source parents. */
  dataSources: boolean;
  /** Before 2026-03-11: objects also carry `archived`, requests may use it. */
  archivedAlias: boolean;
}

/** Versions Notion published before the data-source era. */
const LEGACY = new Set(["2021-05-11", "2021-05-13", "2021-08-16", "2022-02-22", "2022-06-28"]);
const DATA_SOURCES_SINCE = "2025-09-03";
const IN_TRASH_ONLY_SINCE = "2026-03-11";

export type VersionCheck =
  | { ok: true; version: ApiVersion }
  | { ok: false; missing: boolean; value: string };

export function checkVersion(header: string | null): VersionCheck {
  if (header === null || header.trim() === "") return { ok: false, missing: true, value: "" };
  const value = header.trim();
  const isDate = /^\d{4}-\d{2}-\d{2}$/.test(value) && Number.isFinite(Date.parse(value));
  if (!isDate || (!LEGACY.has(value) && value < DATA_SOURCES_SINCE)) {
    return { ok: false, missing: false, value };
  }
  return {
    ok: true,
    version: {
      value,
      dataSources: value >= DATA_SOURCES_SINCE,
      archivedAlias: value < IN_TRASH_ONLY_SINCE,
    },
  };
}
