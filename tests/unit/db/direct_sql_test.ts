// Which failures of the direct connection send the Google receiver to the Data API.
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  createDirectSql,
  isDirectConnectionUnavailable,
} from "../../../supabase/functions/_shared/db/direct_sql.ts";

const sqlError = (code: string) =>
  new postgres.PostgresError({ code, message: `error ${code}` } as unknown as string);

Deno.test("a refused connection counts as unavailable", async () => {
  // A port nothing listens on: the listener is closed before the connection is tried.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const sql = createDirectSql(`postgresql://postgres:postgres@127.0.0.1:${port}/postgres`);
  try {
    const error = await sql`select 1`.then(() => null, (e) => e);
    assert.ok(error, "the query must fail");
    assert.equal(isDirectConnectionUnavailable(error), true, String(error));
  } finally {
    await sql.end({ timeout: 0 });
  }
});

Deno.test("the database saying it cannot serve the connection counts as unavailable", () => {
  for (const code of ["53300", "57P01", "57P03", "08006", "28P01"]) {
    assert.equal(isDirectConnectionUnavailable(sqlError(code)), true, code);
  }
});

Deno.test("a failed statement does not: the Data API would fail the same way", () => {
  for (const code of ["22023", "42883", "P0001", "40001", "23505"]) {
    assert.equal(isDirectConnectionUnavailable(sqlError(code)), false, code);
  }
});
