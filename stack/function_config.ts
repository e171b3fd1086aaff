// Which Edge Functions exist and how the gateway must treat them, read the way the Supabase CLI
// reads them: every folder under supabase/functions with an index.ts (folders starting with `_`
// or `.` hold shared code), and `[functions.<name>] verify_jwt` from supabase/config.toml
// (default true, as on the hosted platform).
import { parse } from "smol-toml";

export interface FunctionDefinition {
  name: string;
  entrypoint: string;
  verifyJwt: boolean;
}

export async function readFunctionDefinitions(projectRoot: string): Promise<FunctionDefinition[]> {
  const config = parse(await Deno.readTextFile(`${projectRoot}/supabase/config.toml`)) as {
    functions?: Record<string, { verify_jwt?: boolean; entrypoint?: string }>;
  };
  const functionsDir = `${projectRoot}/supabase/functions`;
  const definitions: FunctionDefinition[] = [];
  for await (const entry of Deno.readDir(functionsDir)) {
    if (!entry.isDirectory || entry.name.startsWith("_") || entry.name.startsWith(".")) continue;
    const settings = config.functions?.[entry.name] ?? {};
    const entrypoint = settings.entrypoint
      ? `${projectRoot}/supabase/${settings.entrypoint.replace(/^\.\//, "")}`
      : `${functionsDir}/${entry.name}/index.ts`;
    try {
      await Deno.stat(entrypoint);
    } catch {
      continue;
    }
    definitions.push({ name: entry.name, entrypoint, verifyJwt: settings.verify_jwt ?? true });
  }
  return definitions.sort((a, b) => a.name.localeCompare(b.name));
}
