// The real gateway for the JS tests that talk to one (sync.test.mjs, client.test.mjs):
// target/release/meshguard-gateway on 127.0.0.1, over a temporary directory, every wait
// bounded; and a free port for any test server.

import { spawn } from 'node:child_process';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { root } from './corpus.mjs';

export const GATEWAY = join(root, 'target', 'release', 'meshguard-gateway');
export const ADMIN = 'js-test-admin-token-0123456789';

export async function freePort() {
  const s = createNetServer();
  await new Promise((resolve, reject) => s.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** The gateway on `port` over `dir` (database, policies, signing key): resolves when it
 * answers /health, within 60 s. */
export async function startGateway(dir, port, env = {}) {
  const child = spawn(GATEWAY, [], {
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: String(port),
      ADMIN_TOKEN: ADMIN,
      POLICIES_DIR: join(dir, 'policies'),
      DB_PATH: join(dir, 'meshguard.db'),
      RELOAD_INTERVAL_MS: '200',
      DECIDE_DEADLINE_MS: '5000',
      LOG: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  for (let i = 0; i < 600 && child.exitCode === null; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) })).ok) return child;
    } catch {
      // not yet
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`the gateway did not start:\n${log}`);
}

export async function stopGateway(child) {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

