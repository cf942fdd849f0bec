// Browsers, bundlers and any runtime that allows compiling WebAssembly: the web build,
// ready on import. Top-level await fetches and compiles meshguard_wasm_bg.wasm next to
// the glue — bundlers that follow `new URL(…, import.meta.url)` (Vite, webpack, Parcel)
// copy it into the build — so `init()` is never needed here. Where compiling bytes is
// forbidden (Cloudflare Workers, workerd) the `workerd`/`worker` conditions pick
// ./web.js instead, which waits for `initSync({ module })`.

import { init } from './web.js';

await init(new URL('../pkg/web/meshguard_wasm_bg.wasm', import.meta.url));

export * from './web.js';
