// Bundlers (webpack, Vite, Rollup with a wasm plugin): the wasm-bindgen `bundler` build,
// which imports the .wasm as an ES module and is ready on import.

import * as raw from '../pkg/bundler/meshguard_wasm.js';
import { createApi } from './api.js';

const api = createApi(raw, 'wasm');

export const { backend, PolicySet, RateLimiter, LocalGuard, GatewaySync, MeshGuardClient, lint, version } = api;
export { MeshGuardError, PolicyLoadError, PolicyDeniedError, RateLimitError, AuthenticationError } from './errors.js';
export async function init() {}
export function initSync() {}
