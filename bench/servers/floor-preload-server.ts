// The floor's server (floor-server.ts) after loading the modules named in BENCH_PRELOAD
// (comma-separated, as require() takes them): what a plugin's start pays for loading those
// modules alone, before any of its own work. Used by bench/cold-start-parts.ts.
//
//   BENCH_PRELOAD=reflect-metadata node dist/bench/servers/floor-preload-server.js <socket>
/* eslint-disable @typescript-eslint/no-require-imports -- loaded in this order, on purpose: the preloads first */
for (const name of (process.env['BENCH_PRELOAD'] ?? '').split(',').filter(Boolean)) require(name);
require('./floor-server');
