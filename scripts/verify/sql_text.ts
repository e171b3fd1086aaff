// The lexical layer of reading a migration: comments out, statements apart, string literals
// masked. PostgreSQL's rules that matter here: `--` and nested `/* */` comments, '' inside
// single-quoted strings (backslash escapes in E'' strings), "" inside quoted identifiers, and
// dollar-quoted bodies ($$ … $$, $fn$ … $fn$), whose content is itself SQL or PL/pgSQL in these
// migrations (function bodies, DO blocks, cron commands) and is lexed the same way.
//
// Every function keeps offsets: removed or masked characters become spaces and newlines stay,
// so a position in the result is the same position (and line) in the source.

export interface SqlStatement {
  /** The statement without comments and without its closing semicolon, trimmed. */
  sql: string;
  /** 1-based line of the statement's first character in the source. */
  line: number;
}

const identifierChar = /[A-Za-z0-9_$]/;

/** The dollar-quote tag starting at `at` ("$$" or "$name$"), or null. */
function dollarTagAt(text: string, at: number): string | null {
  if (text[at] !== "$") return null;
  // `$1` is a parameter and `a$b` part of an identifier, not a quote.
  if (at > 0 && identifierChar.test(text[at - 1])) return null;
  const match = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(at, at + 64));
  return match ? match[0] : null;
}

/** Where a single-quoted literal opening at `at` ends (index after the closing quote). */
function endOfStringLiteral(text: string, at: number): number {
  const escapes = at > 0 && /[eE]/.test(text[at - 1]) &&
    (at < 2 || !identifierChar.test(text[at - 2]));
  let i = at + 1;
  while (i < text.length) {
    if (escapes && text[i] === "\\") {
      i += 2;
    } else if (text[i] === "'") {
      if (text[i + 1] === "'") i += 2;
      else return i + 1;
    } else {
      i++;
    }
  }
  return text.length;
}

/** Where a quoted identifier opening at `at` ends (index after the closing quote). */
function endOfQuotedIdentifier(text: string, at: number): number {
  let i = at + 1;
  while (i < text.length) {
    if (text[i] === '"') {
      if (text[i + 1] === '"') i += 2;
      else return i + 1;
    } else {
      i++;
    }
  }
  return text.length;
}

/** Where a block comment opening at `at` ends (comments nest in PostgreSQL). */
function endOfBlockComment(text: string, at: number): number {
  let depth = 0;
  let i = at;
  while (i < text.length) {
    if (text.startsWith("/*", i)) {
      depth++;
      i += 2;
    } else if (text.startsWith("*/", i)) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  return text.length;
}

function blank(text: string): string {
  return text.replace(/[^\n]/g, " ");
}

/** What each part of the text is, in order: code, a comment, a literal or a dollar body. */
type Part =
  | { kind: "code" | "comment" | "string" | "identifier"; text: string }
  | { kind: "dollar"; tag: string; body: string };

function lex(text: string): Part[] {
  const parts: Part[] = [];
  let code = "";
  const flush = () => {
    if (code) parts.push({ kind: "code", text: code });
    code = "";
  };
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    let end = -1;
    let kind: "comment" | "string" | "identifier" | null = null;
    if (text.startsWith("--", i)) {
      const newline = text.indexOf("\n", i);
      end = newline === -1 ? text.length : newline;
      kind = "comment";
    } else if (text.startsWith("/*", i)) {
      end = endOfBlockComment(text, i);
      kind = "comment";
    } else if (ch === "'") {
      end = endOfStringLiteral(text, i);
      kind = "string";
    } else if (ch === '"') {
      end = endOfQuotedIdentifier(text, i);
      kind = "identifier";
    }
    if (kind) {
      flush();
      parts.push({ kind, text: text.slice(i, end) });
      i = end;
      continue;
    }
    const tag = dollarTagAt(text, i);
    if (tag) {
      const close = text.indexOf(tag, i + tag.length);
      const bodyEnd = close === -1 ? text.length : close;
      flush();
      parts.push({ kind: "dollar", tag, body: text.slice(i + tag.length, bodyEnd) });
      i = close === -1 ? text.length : close + tag.length;
      continue;
    }
    code += ch;
    i++;
  }
  flush();
  return parts;
}

function render(parts: Part[], options: { maskStrings: boolean }): string {
  return parts.map((part) => {
    switch (part.kind) {
      case "comment":
        return blank(part.text);
      case "string":
        return options.maskStrings ? `'${blank(part.text.slice(1, -1))}'` : part.text;
      case "dollar":
        // A body is code: its own comments go too (and its literals, when masking).
        return part.tag + render(lex(part.body), options) + part.tag;
      default:
        return part.text;
    }
  }).join("");
}

/** The text with every comment (also inside dollar-quoted bodies) replaced by spaces. */
export function stripComments(text: string): string {
  return render(lex(text), { maskStrings: false });
}

/**
 * The text with comments removed and the content of single-quoted literals blanked, so that a
 * search for names finds code only ('net.x' in a message is not a use of net.x).
 */
export function maskLiterals(text: string): string {
  return render(lex(text), { maskStrings: true });
}

/** The statements of a script, split at top-level semicolons, comments removed. */
export function splitStatements(text: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let current = "";
  let start = 0;
  let offset = 0;
  const close = () => {
    const leading = current.length - current.trimStart().length;
    const sql = current.trim();
    if (sql) {
      const before = text.slice(0, start + leading);
      statements.push({ sql, line: before.split("\n").length });
    }
    current = "";
  };
  for (const part of lex(text)) {
    const rendered = render([part], { maskStrings: false });
    if (part.kind === "code") {
      let from = 0;
      for (let i = 0; i < part.text.length; i++) {
        if (part.text[i] !== ";") continue;
        current += part.text.slice(from, i);
        close();
        from = i + 1;
        start = offset + i + 1;
      }
      current += part.text.slice(from);
    } else {
      current += rendered;
    }
    offset += rendered.length;
  }
  close();
  return statements;
}

/** Where a literal, quoted identifier or dollar body starting at `at` ends, or null if none does. */
function endOfQuoted(text: string, at: number): number | null {
  if (text[at] === "'") return endOfStringLiteral(text, at);
  if (text[at] === '"') return endOfQuotedIdentifier(text, at);
  const tag = dollarTagAt(text, at);
  if (!tag) return null;
  const close = text.indexOf(tag, at + tag.length);
  return close === -1 ? text.length : close + tag.length;
}

/**
 * Index just after the parenthesis that closes the one at `open`, skipping literals, quoted
 * identifiers and dollar bodies; -1 when it never closes.
 */
export function closingParen(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const skipTo = endOfQuoted(text, i);
    if (skipTo !== null) {
      i = skipTo - 1;
    } else if (text[i] === "(") {
      depth++;
    } else if (text[i] === ")" && --depth === 0) {
      return i + 1;
    }
  }
  return -1;
}

/** Splits at commas outside parentheses, brackets, literals, quoted identifiers and bodies. */
export function splitTopLevel(text: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const skipTo = endOfQuoted(text, i);
    if (skipTo !== null) i = skipTo - 1;
    else if (text[i] === "(" || text[i] === "[") depth++;
    else if (text[i] === ")" || text[i] === "]") depth--;
    else if (text[i] === "," && depth === 0) {
      items.push(text.slice(from, i));
      from = i + 1;
    }
  }
  items.push(text.slice(from));
  return items.map((item) => item.trim()).filter((item) => item !== "");
}
