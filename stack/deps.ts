// Every npm dependency of the functions, tests and local stack, so that `scripts/install.sh`
// can fetch them all into Deno's cache once (pinned by deno.lock) before anything runs.
import "@supabase/supabase-js";
import "zod";
import "googleapis-common";
import "google-auth-library";
import "temporal-polyfill";
import "postgres";
import "jose";
import "smol-toml";
import "fast-check";
import "dotenv";
