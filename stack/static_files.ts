// Static files the gateway serves beside the API: the status page at /status/ (from
// <root>/status/) and the bundled browser client at /web/dist/ (from <root>/dist/), where <root>
// is the project's web/ folder or STACK_STATIC_ROOT.
//
// Invariants:
//   - Only GET and HEAD; only regular files that really lie inside the mount's folder (every
//     segment is decoded once and must be a plain name: no "", ".", "..", slash, backslash or
//     NUL; the resolved path, symlinks followed, must stay inside the folder).
//   - A missing folder or file is `null` (the gateway answers its usual 404), never an error
//     that names a path.
//   - A folder answers its index.html; its address without the trailing slash redirects to it.

export type StaticMount = "status" | "dist";

const MOUNTS: Record<StaticMount, { folder: string; prefix: string }> = {
  status: { folder: "status", prefix: "/status/" },
  dist: { folder: "dist", prefix: "/web/dist/" },
};

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  htm: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  map: "application/json",
  txt: "text/plain; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  ico: "image/x-icon",
  woff: "font/woff",
  woff2: "font/woff2",
  wasm: "application/wasm",
  webmanifest: "application/manifest+json",
};

export function contentTypeOf(name: string): string {
  const extension = name.includes(".") ? name.slice(name.lastIndexOf(".") + 1).toLowerCase() : "";
  return CONTENT_TYPES[extension] ?? "application/octet-stream";
}

/** The decoded segments, or null when any of them could step outside a folder. */
function safeSegments(raw: string[]): string[] | null {
  const names: string[] = [];
  for (const [index, segment] of raw.entries()) {
    // A trailing empty segment is the folder itself ("/status/").
    if (segment === "" && index === raw.length - 1) break;
    let name: string;
    try {
      name = decodeURIComponent(segment);
    } catch {
      return null;
    }
    if (name === "" || name === "." || name === ".." || /[/\\\0]/.test(name)) return null;
    names.push(name);
  }
  return names;
}

function inside(folder: string, path: string): boolean {
  return path === folder || path.startsWith(`${folder}/`);
}

async function realPathOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.realPath(path);
  } catch {
    return null;
  }
}

/**
 * The answer for a static file request, or null when there is no such file. `segments` are the
 * raw path segments after the mount's prefix (the gateway already split the normalised path).
 */
export async function serveStaticFile(
  request: Request,
  root: string,
  mount: StaticMount,
  segments: string[],
): Promise<Response | null> {
  const { folder: folderName, prefix } = MOUNTS[mount];
  const folder = await realPathOrNull(`${root}/${folderName}`);
  if (!folder) return null;
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response(null, { status: 405, headers: { allow: "GET, HEAD" } });
  }
  const names = safeSegments(segments);
  if (!names) return null;
  // "/status" (no segment at all) is the folder without its slash.
  if (segments.length === 0) {
    return new Response(null, { status: 301, headers: { location: prefix } });
  }
  let path = await realPathOrNull([folder, ...names].join("/"));
  if (!path || !inside(folder, path)) return null;
  let info = await Deno.stat(path);
  if (info.isDirectory) {
    if (segments[segments.length - 1] !== "") {
      const location = `${prefix}${segments.join("/")}/`;
      return new Response(null, { status: 301, headers: { location } });
    }
    path = await realPathOrNull(`${path}/index.html`);
    if (!path || !inside(folder, path)) return null;
    info = await Deno.stat(path);
  }
  if (!info.isFile) return null;
  const headers = {
    "content-type": contentTypeOf(path),
    "content-length": String(info.size),
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
  };
  if (request.method === "HEAD") return new Response(null, { headers });
  return new Response(await Deno.readFile(path), { headers });
}
