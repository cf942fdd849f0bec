// Makes sure Debian's Chromium is at /usr/bin/chromium for the browser test: installs it
// with apt-get when missing (needs root; never downloads a browser any other way, never
// `npx playwright install`). Every command has a time limit.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = '/usr/bin/chromium';
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };

function run(cmd, args) {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env, timeout: 10 * 60_000 });
  return r.status === 0;
}

if (!existsSync(CHROMIUM)) {
  const root = process.getuid?.() === 0;
  if (!root || !existsSync('/usr/bin/apt-get')) {
    console.error(`${CHROMIUM} is missing; install Debian's chromium (apt-get install -y chromium) as root`);
    process.exit(1);
  }
  const install = ['install', '-y', '--no-install-recommends', 'chromium'];
  // Stale or missing package lists on a fresh machine: update once, then retry.
  if (!run('apt-get', install) && !(run('apt-get', ['update']) && run('apt-get', install))) {
    console.error('apt-get could not install chromium');
    process.exit(1);
  }
}
const v = spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8', timeout: 30_000 });
console.log(v.stdout.trim() || `${CHROMIUM} is installed`);
