// Node entry with the wasm backend, whatever MESHGUARD_BACKEND says.

import { loadBackend } from './node-backend.js';
import { createApi } from './api.js';

const api = createApi(loadBackend('wasm'), 'wasm');

export const { backend, PolicySet, RateLimiter, LocalGuard, GatewaySync, MeshGuardClient, lint, version } = api;
export { MeshGuardError, PolicyLoadError, PolicyDeniedError, RateLimitError, AuthenticationError } from './errors.js';
export async function init() {}
export function initSync() {}
