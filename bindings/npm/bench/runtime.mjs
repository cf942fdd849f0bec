// One runtime's rows, as JSON on stdout: `deno run --allow-read bench/runtime.mjs` or
// `bun bench/runtime.mjs` (bench.mjs runs both). Imports the entry the runtime gets from
// the package's exports: Deno the ES-module wasm build, Bun the Node one.

import { STEMS, run } from './mix.mjs';

const deno = globalThis.Deno;
const m = await import(deno ? '../js/bundler.js' : '../js/node.js');
const readText = deno ? (url) => deno.readTextFileSync(url) : (await import('node:fs')).readFileSync;
const sources = STEMS.map((s) => ({
  name: `${s}.yaml`,
  text: readText(new URL(`../../../policies/${s}.yaml`, import.meta.url), 'utf8'),
}));
const quick = (deno ? deno.args : globalThis.process.argv).includes('--quick');
const runtime = deno ? `Deno ${deno.version.deno}` : `Bun ${globalThis.Bun?.version}`;
console.log(JSON.stringify({ runtime, backend: m.backend, rows: run(m, sources, quick) }));
