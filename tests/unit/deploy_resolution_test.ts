// `supabase functions deploy` does not read the repository's deno.json: for each function it
// looks for an import map in supabase/config.toml ([functions.<name>] import_map, relative to
// supabase/), then supabase/functions/<name>/deno.json, then supabase/functions/import_map.json.
// This type-checks every function exactly that way (no root config), so a deploy resolves every
// import the local stack does.
import assert from "node:assert/strict";
import { parse } from "smol-toml";

const root = new URL("../../", import.meta.url).pathname;

interface FunctionSettings {
  import_map?: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The import map the CLI would use for a function, or null if it would find none. */
async function deployImportMap(name: string, settings: FunctionSettings): Promise<string | null> {
  if (settings.import_map) return `${root}supabase/${settings.import_map.replace(/^\.\//, "")}`;
  const own = `${root}supabase/functions/${name}/deno.json`;
  if (await exists(own)) return own;
  const shared = `${root}supabase/functions/import_map.json`;
  return await exists(shared) ? shared : null;
}

const config = parse(await Deno.readTextFile(`${root}supabase/config.toml`)) as {
  functions?: Record<string, FunctionSettings>;
};
const names: string[] = [];
for await (const entry of Deno.readDir(`${root}supabase/functions`)) {
  if (entry.isDirectory && !entry.name.startsWith("_") && !entry.name.startsWith(".")) {
    names.push(entry.name);
  }
}

Deno.test("every function is declared in config.toml with an import map the deploy finds", async () => {
  for (const name of names.sort()) {
    const settings = config.functions?.[name];
    assert.ok(settings, `[functions.${name}] is missing from supabase/config.toml`);
    const map = await deployImportMap(name, settings);
    assert.ok(map && await exists(map), `${name}: deploy would find no import map (${map})`);
  }
});

for (const name of names.sort()) {
  Deno.test(`${name} type-checks with the import map deploy resolves, without the root deno.json`, async () => {
    const map = await deployImportMap(name, config.functions?.[name] ?? {});
    assert.ok(map);
    const checked = await new Deno.Command(Deno.execPath(), {
      args: [
        "check",
        "--quiet",
        "--no-config",
        "--no-lock",
        `--import-map=${map}`,
        `${root}supabase/functions/${name}/index.ts`,
      ],
      cwd: "/",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const output = new TextDecoder().decode(checked.stderr);
    assert.equal(checked.code, 0, `${name} does not resolve or type-check as deployed:\n${output}`);
  });
}
