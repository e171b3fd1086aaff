// What a database must contain once the bundle's migrations are applied, read from the
// migrations themselves (supabase/migrations/*.sql, in file-name order) each time: there is no
// second, hand-kept list to drift. A statement that creates, changes or removes something in a
// way this reader does not understand is reported as unrecognised (and fails verification), so
// a new kind of object in a migration cannot slip past unchecked.

import {
  closingParen,
  maskLiterals,
  splitStatements,
  splitTopLevel,
  stripComments,
} from "./sql_text.ts";

export interface Source {
  file: string;
  line: number;
}

export interface QualifiedName {
  schema: string;
  name: string;
}

export interface ExpectedExtension {
  name: string;
  /** Created inside a DO block (the platform migration creates pg_net only where offered). */
  conditional: boolean;
  source: Source;
}

export interface ExpectedColumn {
  name: string;
  source: Source;
}

export interface ExpectedTable extends QualifiedName {
  columns: ExpectedColumn[];
  rowLevelSecurity: boolean;
  source: Source;
}

export interface ExpectedView extends QualifiedName {
  materialized: boolean;
  source: Source;
}

export interface ExpectedFunction extends QualifiedName {
  /** Input argument types as written (OUT arguments are not part of the signature). */
  argTypes: string[];
  /** null when the statement declares no RETURNS (OUT arguments decide the result). */
  returns: { type: string; setOf: boolean; display: string } | null;
  source: Source;
}

export interface ExpectedTrigger {
  name: string;
  table: QualifiedName;
  function: QualifiedName;
  source: Source;
}

export interface ExpectedIndex extends QualifiedName {
  table: QualifiedName;
  unique: boolean;
  source: Source;
}

export interface ExpectedPolicy {
  name: string;
  table: QualifiedName;
  /** ALL, SELECT, INSERT, UPDATE or DELETE, as pg_policies shows it. */
  command: string;
  source: Source;
}

export interface ExpectedCronJob {
  name: string;
  schedule: string;
  source: Source;
}

/** A table the migration fills with a row it relies on (a settings singleton). */
export interface ExpectedSeed {
  table: QualifiedName;
  source: Source;
}

/** An object of a platform schema (auth, vault, net, cron, …) the bundle's SQL uses. */
export interface PlatformObject extends QualifiedName {
  source: Source;
}

export interface VaultSecretName {
  name: string;
  source: Source;
}

export interface UnrecognisedStatement {
  source: Source;
  excerpt: string;
  reason: string;
}

export interface Manifest {
  extensions: ExpectedExtension[];
  tables: ExpectedTable[];
  views: ExpectedView[];
  functions: ExpectedFunction[];
  triggers: ExpectedTrigger[];
  indexes: ExpectedIndex[];
  policies: ExpectedPolicy[];
  cronJobs: ExpectedCronJob[];
  seeds: ExpectedSeed[];
  platformObjects: PlatformObject[];
  vaultSecrets: VaultSecretName[];
  unrecognised: UnrecognisedStatement[];
}

export interface MigrationFile {
  name: string;
  sql: string;
}

// Schemas the hosted platform owns: the migrations use objects there but never create them, so
// every use is checked to exist (the local stack provides stand-ins for net and vault).
const PLATFORM_SCHEMAS = [
  "auth",
  "cron",
  "extensions",
  "net",
  "storage",
  "vault",
];

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const QNAME = String.raw`${IDENT}(?:\s*\.\s*${IDENT})?`;
const LITERAL = String.raw`'((?:[^']|'')*)'`;

function re(source: string, flags = "i"): RegExp {
  return new RegExp(source, flags);
}

/** An identifier as PostgreSQL stores it: unquoted ones fold to lower case. */
function identifier(text: string): string {
  const trimmed = text.trim();
  if (trimmed.startsWith('"')) {
    return trimmed.slice(1, -1).replaceAll('""', '"');
  }
  return trimmed.toLowerCase();
}

/** `schema.name` or `name` (public, where the migrations create everything they own). */
function qualifiedName(text: string): QualifiedName {
  const [first = "", second] = text.match(re(IDENT, "g")) ?? [];
  return second === undefined
    ? { schema: "public", name: identifier(first) }
    : { schema: identifier(first), name: identifier(second) };
}

function literal(text: string): string {
  return text.replaceAll("''", "'");
}

export function displayName(name: QualifiedName): string {
  return `${name.schema}.${name.name}`;
}

// Type names PostgreSQL spells in several words; anything else is one (possibly qualified) word
// with optional modifiers and array brackets.
const MULTI_WORD_TYPE = "(?:" + [
  String.raw`double\s+precision`,
  String.raw`(?:character|char|bit)\s+varying(?:\s*\(\s*\d+\s*\))?`,
  String
    .raw`(?:timestamp|time)(?:\s*\(\s*\d+\s*\))?\s+with(?:out)?\s+time\s+zone`,
  String.raw`interval\s+[a-z ]+`,
].join("|") + ")";
const SINGLE_WORD_TYPE = String
  .raw`${QNAME}(?:\s*\(\s*\d+(?:\s*,\s*\d+)?\s*\))?`;
const TYPE_SHAPE = re(
  String.raw`^(?:${MULTI_WORD_TYPE}|${SINGLE_WORD_TYPE})(?:\s*\[\s*\d*\s*\])*$`,
);
const MULTI_WORD_TYPE_ONLY = re(
  String.raw`^${MULTI_WORD_TYPE}(?:\s*\[\s*\d*\s*\])*$`,
);

// One name for each built-in type PostgreSQL knows by several (int4 = int = integer), so that
// `drop function f(int)` finds `create function f(p integer)`.
const TYPE_ALIASES: Record<string, string> = {
  int: "integer",
  int4: "integer",
  int8: "bigint",
  int2: "smallint",
  bool: "boolean",
  float8: "double precision",
  float4: "real",
  decimal: "numeric",
  varchar: "character varying",
  "timestamp with time zone": "timestamptz",
  "timestamp without time zone": "timestamp",
  "time with time zone": "timetz",
  "time without time zone": "time",
};

/** A type name in one spelling: lower case (outside quotes), single spaces, aliases resolved. */
function normaliseType(text: string): string {
  const spelled = text.trim()
    .replace(
      /"(?:[^"]|"")+"|[^"]+/g,
      (part) => part.startsWith('"') ? part : part.toLowerCase(),
    )
    .replace(/\s+/g, " ")
    .replace(/\s*([[(])/g, "$1")
    .replace(/\s*\.\s*/g, ".");
  const [, base, arrays] = /^(.*?)((?:\[\d*\])*)$/.exec(spelled)!;
  return (TYPE_ALIASES[base] ?? base) + arrays;
}

/** The input argument types of an argument list, or why they cannot be read. */
export function parseArgumentTypes(list: string): string[] | { error: string } {
  const types: string[] = [];
  for (const raw of splitTopLevel(list)) {
    const cut = raw.search(/\s+default\b|=/i);
    let declaration = (cut === -1 ? raw : raw.slice(0, cut)).trim();
    const mode = /^(in|out|inout|variadic)\s+/i.exec(declaration);
    if (mode) declaration = declaration.slice(mode[0].length);
    if (mode && mode[1].toLowerCase() === "out") continue;
    let type = declaration;
    // "name type" unless the whole declaration is a type (unnamed arguments).
    const oneWord = !/\s/.test(declaration.replace(/\([^)]*\)/g, "()"));
    if (!oneWord && !MULTI_WORD_TYPE_ONLY.test(declaration)) {
      const name = re(`^${IDENT}\\s+`).exec(declaration);
      if (!name) return { error: `cannot read the argument "${raw}"` };
      type = declaration.slice(name[0].length);
    }
    if (!TYPE_SHAPE.test(type.trim())) {
      return { error: `cannot read the type of "${raw}"` };
    }
    types.push(normaliseType(type));
  }
  return types;
}

const RETURNS_END = re(
  String.raw`\s(?:language|as|immutable|stable|volatile|security|set|strict|called|parallel` +
    String.raw`|cost|rows|support|leakproof|not|external|window|transform|begin)\b`,
);

function parseReturns(rest: string): ExpectedFunction["returns"] | { error: string } {
  const head = /^\s*returns\s+/i.exec(rest);
  if (!head) return null;
  const after = rest.slice(head[0].length);
  if (/^table\s*\(/i.test(after)) return { type: "record", setOf: true, display: "table(…)" };
  const setOf = /^setof\s+/i.exec(after);
  const typeText = after.slice(setOf ? setOf[0].length : 0);
  const end = typeText.search(RETURNS_END);
  const type = (end === -1 ? typeText : typeText.slice(0, end)).trim();
  if (!TYPE_SHAPE.test(type)) return { error: `cannot read the return type "${type}"` };
  const normalised = normaliseType(type);
  return { type: normalised, setOf: !!setOf, display: (setOf ? "setof " : "") + normalised };
}

function functionKey(name: QualifiedName, argTypes: string[]): string {
  return `${displayName(name)}(${argTypes.join(", ")})`;
}

export function functionSignature(fn: ExpectedFunction): string {
  return functionKey(fn, fn.argTypes);
}

function excerpt(sql: string): string {
  const flat = sql.replace(/\s+/g, " ").trim();
  return flat.length > 100 ? `${flat.slice(0, 99)}…` : flat;
}

const words = (...alternatives: string[]) => `(?:${alternatives.join("|")})`;

// The statements that make what the verifier checks.
const CREATE_EXTENSION = re(String.raw`^create\s+extension\s+(?:if\s+not\s+exists\s+)?(${IDENT})`);
const CREATE_TABLE = re(
  String.raw`^create\s+(?:(?:global|local)\s+)?(?:temp\s+|temporary\s+|unlogged\s+)?table\s+` +
    String.raw`(?:if\s+not\s+exists\s+)?(${QNAME})\s*(\()?`,
);
const CREATE_VIEW = re(
  String.raw`^create\s+(?:or\s+replace\s+)?(?:temp\s+|temporary\s+)?(?:recursive\s+)?` +
    String.raw`(materialized\s+)?view\s+(?:if\s+not\s+exists\s+)?(${QNAME})`,
);
const CREATE_FUNCTION = re(String.raw`^create\s+(?:or\s+replace\s+)?function\s+(${QNAME})\s*\(`);
const CREATE_TRIGGER = re(
  String.raw`^create\s+(?:or\s+replace\s+)?(?:constraint\s+)?trigger\s+(${IDENT})\s+` +
    String.raw`(?:before|after|instead\s+of)\s[\s\S]*?\son\s+(${QNAME})[\s\S]*?` +
    String.raw`\sexecute\s+(?:function|procedure)\s+(${QNAME})\s*\(`,
);
const CREATE_INDEX = re(
  String.raw`^create\s+(unique\s+)?index\s+(?:concurrently\s+)?(?:if\s+not\s+exists\s+)?` +
    String.raw`(${IDENT})\s+on\s+(?:only\s+)?(${QNAME})`,
);
const CREATE_POLICY = re(
  String.raw`^create\s+policy\s+(${IDENT})\s+on\s+(${QNAME})` +
    String.raw`(?:\s+as\s+\w+)?(?:\s+for\s+(all|select|insert|update|delete))?`,
);
const INSERT = re(String.raw`^insert\s+into\s+(${QNAME})`);
const DROP = re(
  String.raw`^drop\s+(table|view|materialized\s+view|function|trigger|index|policy|extension)\s+` +
    String.raw`(?:concurrently\s+)?(?:if\s+exists\s+)?([\s\S]*?)(?:\s+(?:cascade|restrict))?$`,
);
const CRON_SCHEDULE = re(
  String.raw`\bcron\s*\.\s*schedule(?:_in_database)?\s*\(\s*${LITERAL}\s*,\s*${LITERAL}\s*,`,
  "gi",
);
const CRON_UNSCHEDULE = re(String.raw`\bcron\s*\.\s*unschedule\s*\(\s*${LITERAL}\s*\)`, "gi");

// Statements that create, alter or remove nothing the verifier checks.
const IGNORED = re(
  "^" + words(
    ..."comment grant revoke set reset update delete select notify analyze vacuum".split(" "),
    ..."begin commit end start savepoint release rollback lock truncate".split(" "),
    String.raw`security\s+label`,
    String.raw`alter\s+default\s+privileges`,
  ) + String.raw`\b`,
);
// ALTER TABLE actions that do not change which tables, columns, triggers or indexes exist.
const IGNORED_TABLE_ACTION = re(
  "^" + words(
    String.raw`add\s+(?:constraint|primary\s+key|unique|check|foreign\s+key|exclude)\b`,
    String.raw`(?:drop|validate|rename)\s+constraint\b`,
    String.raw`alter\s`,
    String.raw`(?:no\s+)?force\s+row\s+level\s+security`,
    String.raw`owner\s+to\b`,
    String.raw`set\s+(?!schema\b)`,
    String.raw`reset\b`,
    String.raw`replica\s+identity\b`,
    String.raw`cluster\b`,
  ),
);
// Table constraints, as opposed to columns, in a CREATE TABLE list.
const TABLE_CONSTRAINT = re(
  String.raw`^(?:constraint|primary\s+key|unique|check|foreign\s+key|exclude|like)\b`,
);
// What a DO block must not do for the verifier to know what exists afterwards.
const DO_BLOCK_DDL = re(
  String.raw`\b(?:create|drop)\s+(?:or\s+replace\s+)?(?:unique\s+)?` +
    String.raw`(?:table|view|materialized|function|trigger|index|policy|schema|type)\b`,
);

class ManifestBuilder {
  private extensions = new Map<string, ExpectedExtension>();
  private tables = new Map<string, ExpectedTable>();
  private views = new Map<string, ExpectedView>();
  private functions = new Map<string, ExpectedFunction>();
  private triggers = new Map<string, ExpectedTrigger>();
  private indexes = new Map<string, ExpectedIndex>();
  private policies = new Map<string, ExpectedPolicy>();
  private cronJobs = new Map<string, ExpectedCronJob>();
  private seeds = new Map<string, ExpectedSeed>();
  private platformObjects = new Map<string, PlatformObject>();
  private vaultSecrets = new Map<string, VaultSecretName>();
  private unrecognised: UnrecognisedStatement[] = [];

  addMigration(file: MigrationFile): void {
    for (const statement of splitStatements(file.sql)) {
      const source = { file: file.name, line: statement.line };
      this.collectPlatformUses(statement.sql, source);
      const reason = this.apply(statement.sql, source);
      if (reason) this.unrecognised.push({ source, excerpt: excerpt(statement.sql), reason });
    }
  }

  build(): Manifest {
    return {
      extensions: [...this.extensions.values()],
      tables: [...this.tables.values()],
      views: [...this.views.values()],
      functions: [...this.functions.values()],
      triggers: [...this.triggers.values()],
      indexes: [...this.indexes.values()],
      policies: [...this.policies.values()],
      cronJobs: [...this.cronJobs.values()],
      seeds: [...this.seeds.values()],
      platformObjects: [...this.platformObjects.values()],
      vaultSecrets: [...this.vaultSecrets.values()],
      unrecognised: this.unrecognised,
    };
  }

  /** Applies one statement; returns why it was not understood, or null. */
  private apply(sql: string, source: Source): string | null {
    let m: RegExpExecArray | null;
    if ((m = CREATE_EXTENSION.exec(sql))) {
      const name = identifier(m[1]);
      this.extensions.set(name, { name, conditional: false, source });
    } else if ((m = CREATE_TABLE.exec(sql))) {
      return this.createTable(sql, m, source);
    } else if ((m = CREATE_VIEW.exec(sql))) {
      const name = qualifiedName(m[2]);
      this.views.set(displayName(name), { ...name, materialized: !!m[1], source });
    } else if ((m = CREATE_FUNCTION.exec(sql))) {
      return this.createFunction(sql, m, source);
    } else if ((m = CREATE_TRIGGER.exec(sql))) {
      const [name, table] = [identifier(m[1]), qualifiedName(m[2])];
      this.triggers.set(`${displayName(table)}/${name}`, {
        name,
        table,
        function: qualifiedName(m[3]),
        source,
      });
    } else if ((m = CREATE_INDEX.exec(sql))) {
      const table = qualifiedName(m[3]);
      const name = { schema: table.schema, name: identifier(m[2]) };
      this.indexes.set(displayName(name), { ...name, table, unique: !!m[1], source });
    } else if ((m = CREATE_POLICY.exec(sql))) {
      const [name, table] = [identifier(m[1]), qualifiedName(m[2])];
      const command = (m[3] ?? "all").toUpperCase();
      this.policies.set(`${displayName(table)}/${name}`, { name, table, command, source });
    } else if (/^create\b/i.test(sql)) {
      return "a CREATE the verifier does not check";
    } else if (/^alter\s+table\b/i.test(sql)) {
      return this.alterTable(sql, source);
    } else if (/^alter\b/i.test(sql)) {
      if (/\srename\s|\sset\s+schema\s/i.test(sql)) {
        return "renames or moves an object the verifier checks";
      }
    } else if (/^drop\b/i.test(sql)) {
      return this.drop(sql);
    } else if (/^do\b/i.test(sql)) {
      return this.doBlock(sql, source);
    } else if ((m = INSERT.exec(sql))) {
      const table = qualifiedName(m[1]);
      this.seeds.set(displayName(table), { table, source });
    } else if (/\bcron\s*\.\s*(?:un)?schedule/i.test(sql)) {
      return this.cronCalls(sql, source);
    } else if (!IGNORED.test(sql)) {
      return "a statement the verifier does not know";
    }
    return null;
  }

  private createTable(sql: string, head: RegExpExecArray, source: Source): string | null {
    if (!head[2]) return "a CREATE TABLE without a column list";
    const open = head[0].length - 1;
    const close = closingParen(sql, open);
    if (close === -1) return "a CREATE TABLE whose column list does not close";
    const name = qualifiedName(head[1]);
    const key = displayName(name);
    if (/\bif\s+not\s+exists\b/i.test(head[0]) && this.tables.has(key)) return null;
    const columns: ExpectedColumn[] = [];
    for (const item of splitTopLevel(sql.slice(open + 1, close - 1))) {
      if (TABLE_CONSTRAINT.test(item)) continue;
      const column = re(`^${IDENT}`).exec(item);
      if (!column) return `cannot read the column "${item}"`;
      columns.push({ name: identifier(column[0]), source });
    }
    this.tables.set(key, { ...name, columns, rowLevelSecurity: false, source });
    return null;
  }

  private createFunction(sql: string, head: RegExpExecArray, source: Source): string | null {
    const open = head[0].length - 1;
    const close = closingParen(sql, open);
    if (close === -1) return "a CREATE FUNCTION whose argument list does not close";
    const argTypes = parseArgumentTypes(sql.slice(open + 1, close - 1));
    if (!Array.isArray(argTypes)) return argTypes.error;
    const returns = parseReturns(sql.slice(close));
    if (returns && "error" in returns) return returns.error;
    const name = qualifiedName(head[1]);
    this.functions.set(functionKey(name, argTypes), { ...name, argTypes, returns, source });
    return null;
  }

  private alterTable(sql: string, source: Source): string | null {
    const head = re(String.raw`^alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?(${QNAME})\s+`)
      .exec(sql);
    if (!head) return "an ALTER TABLE the verifier cannot read";
    const key = displayName(qualifiedName(head[1]));
    // A table the migrations do not make (auth.users) has nothing to track.
    const table = this.tables.get(key);
    for (const action of splitTopLevel(sql.slice(head[0].length))) {
      let m: RegExpExecArray | null;
      if (/^enable\s+row\s+level\s+security$/i.test(action)) {
        if (table) table.rowLevelSecurity = true;
      } else if (/^disable\s+row\s+level\s+security$/i.test(action)) {
        if (table) table.rowLevelSecurity = false;
      } else if (IGNORED_TABLE_ACTION.test(action)) {
        continue;
      } else if (
        (m = re(String.raw`^add\s+(?:column\s+)?(?:if\s+not\s+exists\s+)?(${IDENT})\s`)
          .exec(action))
      ) {
        const column = identifier(m[1]);
        if (table && !table.columns.some((c) => c.name === column)) {
          table.columns.push({ name: column, source });
        }
      } else if (
        (m = re(String.raw`^drop\s+(?:column\s+)?(?:if\s+exists\s+)?(${IDENT})`).exec(action))
      ) {
        const column = identifier(m[1]);
        if (table) table.columns = table.columns.filter((c) => c.name !== column);
      } else if (
        (m = re(String.raw`^rename\s+(?:column\s+)?(${IDENT})\s+to\s+(${IDENT})$`).exec(action))
      ) {
        const column = table?.columns.find((c) => c.name === identifier(m![1]));
        if (column) column.name = identifier(m[2]);
      } else if ((m = re(String.raw`^rename\s+to\s+(${IDENT})$`).exec(action))) {
        if (table) {
          this.tables.delete(key);
          table.name = identifier(m[1]);
          this.tables.set(displayName(table), table);
        }
      } else {
        return `an ALTER TABLE action the verifier does not know: "${excerpt(action)}"`;
      }
    }
    return null;
  }

  private drop(sql: string): string | null {
    const m = DROP.exec(sql);
    if (!m) return "a DROP the verifier does not know";
    const kind = m[1].toLowerCase().replace(/\s+/g, " ");
    if (kind === "trigger" || kind === "policy") {
      const on = re(`^(${IDENT})\\s+on\\s+(${QNAME})$`).exec(m[2].trim());
      if (!on) return `a DROP ${kind.toUpperCase()} the verifier cannot read`;
      const key = `${displayName(qualifiedName(on[2]))}/${identifier(on[1])}`;
      (kind === "trigger" ? this.triggers : this.policies).delete(key);
      return null;
    }
    for (const target of splitTopLevel(m[2])) {
      const parts = re(String.raw`^(${QNAME})\s*(?:\(([\s\S]*)\))?$`).exec(target);
      if (!parts) return `a DROP ${kind.toUpperCase()} the verifier cannot read`;
      const name = qualifiedName(parts[1]);
      const key = displayName(name);
      if (kind === "function") {
        const argTypes = parts[2] === undefined ? null : parseArgumentTypes(parts[2]);
        if (argTypes && !Array.isArray(argTypes)) return argTypes.error;
        for (const [fnKey, fn] of this.functions) {
          // Without an argument list, DROP FUNCTION names the one function of that name.
          if (argTypes ? fnKey === functionKey(name, argTypes) : displayName(fn) === key) {
            this.functions.delete(fnKey);
          }
        }
      } else if (kind === "table") {
        this.dropTable(key);
      } else if (kind === "extension") {
        this.extensions.delete(identifier(parts[1]));
      } else if (kind === "index") {
        this.indexes.delete(key);
      } else {
        this.views.delete(key);
      }
    }
    return null;
  }

  /** A dropped table takes its triggers, indexes, policies and seed row with it. */
  private dropTable(key: string): void {
    this.tables.delete(key);
    this.seeds.delete(key);
    const onTable = (item: { table: QualifiedName }) => displayName(item.table) === key;
    for (const [k, v] of this.triggers) if (onTable(v)) this.triggers.delete(k);
    for (const [k, v] of this.indexes) if (onTable(v)) this.indexes.delete(k);
    for (const [k, v] of this.policies) if (onTable(v)) this.policies.delete(k);
  }

  // DO blocks run code once: an extension created there is created conditionally (the platform
  // migration creates pg_net only where the server offers it). Jobs unscheduled there are the
  // "unschedule if present, then schedule" idiom, whose schedule follows at top level.
  private doBlock(sql: string, source: Source): string | null {
    const createExtension = re(
      String.raw`\bcreate\s+extension\s+(?:if\s+not\s+exists\s+)?(${IDENT})`,
      "gi",
    );
    for (const m of sql.matchAll(createExtension)) {
      const name = identifier(m[1]);
      if (!this.extensions.has(name)) {
        this.extensions.set(name, { name, conditional: true, source });
      }
    }
    const code = maskLiterals(sql).replace(/\bcreate\s+extension\b/gi, "");
    if (DO_BLOCK_DDL.test(code)) {
      return "a DO block that creates or drops objects (the verifier cannot tell which)";
    }
    if (/\bcron\s*\.\s*schedule/i.test(code)) {
      return "a DO block that schedules cron jobs (the verifier cannot tell which)";
    }
    return null;
  }

  private cronCalls(sql: string, source: Source): string | null {
    const code = maskLiterals(sql);
    const count = (pattern: RegExp) => code.match(pattern)?.length ?? 0;
    const schedules = [...sql.matchAll(CRON_SCHEDULE)];
    const unschedules = [...sql.matchAll(CRON_UNSCHEDULE)];
    if (
      schedules.length !== count(/\bcron\s*\.\s*schedule(?:_in_database)?\s*\(/gi) ||
      unschedules.length !== count(/\bcron\s*\.\s*unschedule\s*\(/gi)
    ) {
      return "a cron call whose job name and schedule are not literals";
    }
    // In statement order: an unschedule after a schedule of the same job removes it.
    const calls = [
      ...schedules.map((m) => ({ at: m.index!, name: literal(m[1]), schedule: literal(m[2]) })),
      ...unschedules.map((m) => ({ at: m.index!, name: literal(m[1]), schedule: null })),
    ].sort((a, b) => a.at - b.at);
    for (const { name, schedule } of calls) {
      if (schedule === null) this.cronJobs.delete(name);
      else this.cronJobs.set(name, { name, schedule, source });
    }
    return null;
  }

  private collectPlatformUses(sql: string, source: Source): void {
    const use = re(String.raw`(?<![\w$."])(${PLATFORM_SCHEMAS.join("|")})\s*\.\s*(${IDENT})`, "gi");
    for (const m of maskLiterals(sql).matchAll(use)) {
      const object = { schema: m[1].toLowerCase(), name: identifier(m[2]) };
      const key = displayName(object);
      if (!this.platformObjects.has(key)) this.platformObjects.set(key, { ...object, source });
    }
    // Secret names: the literals a Vault read filters on, up to the end of that statement.
    for (
      const read of stripComments(sql).matchAll(/\bvault\s*\.\s*(?:decrypted_)?secrets\b[^;]*/gi)
    ) {
      const names = [
        ...[...read[0].matchAll(re(String.raw`\bname\s*=\s*${LITERAL}`, "gi"))].map((m) => m[1]),
        ...[...read[0].matchAll(/\bname\s+in\s*\(([^)]*)\)/gi)].flatMap((m) =>
          [...m[1].matchAll(re(LITERAL, "g"))].map((l) => l[1])
        ),
      ];
      for (const name of names.map(literal)) {
        if (!this.vaultSecrets.has(name)) this.vaultSecrets.set(name, { name, source });
      }
    }
  }
}

/** The manifest of migrations given in the order they are applied. */
export function buildManifest(migrations: MigrationFile[]): Manifest {
  const builder = new ManifestBuilder();
  for (const migration of migrations) builder.addMigration(migration);
  return builder.build();
}

/** The migrations of a folder, in the order the Supabase CLI applies them (file name). */
export async function readMigrations(folder: string): Promise<MigrationFile[]> {
  const files: MigrationFile[] = [];
  for await (const entry of Deno.readDir(folder)) {
    if (entry.isFile && entry.name.endsWith(".sql")) {
      files.push({ name: entry.name, sql: await Deno.readTextFile(`${folder}/${entry.name}`) });
    }
  }
  return files.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}
