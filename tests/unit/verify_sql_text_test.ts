// The lexical layer of the deployment verifier (scripts/verify/sql_text.ts): comments, literals,
// dollar-quoted bodies, statement boundaries and their lines.
import assert from "node:assert/strict";
import {
  closingParen,
  maskLiterals,
  splitStatements,
  splitTopLevel,
  stripComments,
} from "../../scripts/verify/sql_text.ts";

Deno.test("statements split at top-level semicolons only, with their first line", () => {
  const script = [
    "-- header; not a statement",
    "create table a (x text default ';');",
    "",
    "create function f() returns int language plpgsql as $fn$",
    "begin",
    "  return 1; -- a comment; inside the body",
    "end",
    "$fn$;",
    "/* one /* nested; */ comment */ select 'it''s; fine', \"odd;name\";",
    "select 2",
  ].join("\n");
  const statements = splitStatements(script);
  assert.deepEqual(statements.map((s) => s.line), [2, 4, 9, 10]);
  assert.equal(statements[0].sql, "create table a (x text default ';')");
  assert.match(statements[1].sql, /^create function f\(\) .*\$fn\$$/s);
  assert.ok(!statements[1].sql.includes("a comment"), "comments inside bodies are removed");
  assert.equal(statements[2].sql, "select 'it''s; fine', \"odd;name\"");
  assert.equal(statements[3].sql, "select 2");
});

Deno.test("comments go, literals stay, and positions do not move", () => {
  const text = "select '--not a comment' -- a comment\n, $$ x -- gone\n $$ /* c */";
  const stripped = stripComments(text);
  assert.equal(stripped.length, text.length);
  assert.ok(stripped.includes("'--not a comment'"));
  assert.ok(!stripped.includes("a comment\n"));
  assert.ok(!stripped.includes("gone"));
  assert.equal(stripped.split("\n").length, text.split("\n").length);
});

Deno.test("masking blanks literal text, also inside bodies, and keeps code", () => {
  const text = "select net.http_post('net.fake'), $$ perform vault.x('auth.users') $$, E'a\\'b'";
  const masked = maskLiterals(text);
  assert.equal(masked.length, text.length);
  assert.ok(masked.includes("net.http_post("));
  assert.ok(masked.includes("vault.x("));
  assert.ok(!masked.includes("net.fake"));
  assert.ok(!masked.includes("auth.users"));
  assert.ok(!masked.includes("a\\'b"), "an E'' literal ends at its real closing quote");
});

Deno.test("closing parentheses and top-level commas skip literals and nesting", () => {
  const text = "f(a int default g(1, ')'), b text[] = '{,}', c numeric(10, 2)) returns x";
  const close = closingParen(text, 1);
  assert.equal(text.slice(close), " returns x");
  assert.deepEqual(splitTopLevel(text.slice(2, close - 1)), [
    "a int default g(1, ')')",
    "b text[] = '{,}'",
    "c numeric(10, 2)",
  ]);
  assert.equal(closingParen("f(a", 1), -1);
});
