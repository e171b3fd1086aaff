// The browser tests' own npm dependency, fetched into Deno's cache by scripts/install.sh beside
// stack/deps.ts (pinned by deno.lock).
import "playwright-core";
