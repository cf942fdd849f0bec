// Browsers, Deno and edge workers: the wasm-bindgen `web` build. Call `await init()`
// (fetches meshguard_wasm_bg.wasm next to the glue, or takes a URL, Response, bytes or
// WebAssembly.Module) or, where compiling bytes is forbidden (Cloudflare Workers),
// import the .wasm as a module and call `initSync({ module })`.

import initWasm, * as raw from '../pkg/web/meshguard_wasm.js';
import { createApi } from './api.js';
import { MeshGuardError } from './errors.js';

let initialized = false;

export async function init(input) {
  if (initialized) return;
  await initWasm(input === undefined ? undefined : { module_or_path: input });
  initialized = true;
}

export function initSync(input) {
  if (initialized) return;
  raw.initSync(input instanceof WebAssembly.Module || !input?.module ? { module: input } : input);
  initialized = true;
}

const api = createApi(raw, 'wasm', () => {
  if (!initialized) {
    throw new MeshGuardError('call `await init()` or `initSync({ module })` before using @meshguard/policy', {
      code: 'not-initialized',
    });
  }
});

export const { backend, PolicySet, RateLimiter, LocalGuard, GatewaySync, MeshGuardClient, lint, version } = api;
export { MeshGuardError, PolicyLoadError, PolicyDeniedError, RateLimitError, AuthenticationError } from './errors.js';
