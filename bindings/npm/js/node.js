// Node entry: the backend named by MESHGUARD_BACKEND (`wasm`, the default, or `native`).
// `@meshguard/policy/wasm` and `@meshguard/policy/native` pick one explicitly.

import { loadBackend } from './node-backend.js';
import { createApi } from './api.js';

const choice = process.env.MESHGUARD_BACKEND || 'wasm';
const api = createApi(loadBackend(choice), choice);

export const { backend, PolicySet, RateLimiter, LocalGuard, GatewaySync, MeshGuardClient, lint, version } = api;
export { MeshGuardError, PolicyLoadError, PolicyDeniedError, RateLimitError, AuthenticationError } from './errors.js';
/** Nothing to initialise in Node; kept so code runs unchanged on every platform. */
export async function init() {}
export function initSync() {}
