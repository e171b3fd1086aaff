// What scripts/build_web.sh bundles is what Deno checks and tests: esbuild resolves the bare
// imports from tools/node_modules while Deno resolves them through import_map.json, so both
// must name the same versions; and the status page's DOM code (*.mts: outside the project's
// `deno check` of *.ts, whose program must not take in the DOM's globals) is type-checked here
// in a program of its own.
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);
const BUNDLED = ["@supabase/supabase-js", "jose", "temporal-polyfill"];

Deno.test("the bundle's dependencies in tools/package.json pin the import map's versions", async () => {
  const importMap = JSON.parse(await Deno.readTextFile(new URL("import_map.json", ROOT)));
  const tools = JSON.parse(await Deno.readTextFile(new URL("tools/package.json", ROOT)));
  for (const name of BUNDLED) {
    const specifier: string = importMap.imports[name];
    assert.ok(specifier, `${name} is in import_map.json`);
    assert.equal(
      `npm:${name}@${tools.dependencies[name]}`,
      specifier,
      `tools/package.json pins ${name} as import_map.json does`,
    );
  }
});

Deno.test("the status page's browser code type-checks against the DOM", async () => {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", "web/status_page/main.mts"],
    cwd: ROOT.pathname,
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
});
