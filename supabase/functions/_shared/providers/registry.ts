// Every provider adapter by name: the one place a new provider is registered (its folder holds
// its client, mapping and strategy; the core finds it here).
import type { ProviderAdapter, ProviderName } from "../sync/types.ts";
import { calendlyAdapter } from "./calendly/adapter.ts";
import { googleAdapter } from "./google/adapter.ts";
import { notionAdapter } from "./notion/adapter.ts";

const ADAPTERS: Partial<Record<ProviderName, ProviderAdapter>> = {
  google: googleAdapter,
  calendly: calendlyAdapter,
  notion: notionAdapter,
};

export function providerAdapter(name: ProviderName): ProviderAdapter {
  const adapter = ADAPTERS[name];
  if (!adapter) throw new Error(`no adapter for provider ${name}`);
  return adapter;
}
