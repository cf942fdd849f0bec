// Loads a backend in Node: the wasm-bindgen `nodejs` build or the napi-rs addon.

import { createRequire } from 'node:module';
import { MeshGuardError } from './errors.js';

const require = createRequire(import.meta.url);

export function loadBackend(choice) {
  if (choice === 'wasm') return require('../pkg/nodejs/meshguard_wasm.js');
  if (choice === 'native') {
    try {
      return require('@meshguard/policy-native');
    } catch (e) {
      throw new MeshGuardError(
        `the native backend is not available (${e.message}); build it with \`npm run build:native\``,
        { code: 'backend-unavailable', cause: e },
      );
    }
  }
  throw new MeshGuardError(`MESHGUARD_BACKEND must be \`wasm\` or \`native\`, got \`${choice}\``, {
    code: 'invalid-argument',
  });
}
