#!/usr/bin/env node
// The `cleanroom` bin entry (package.json "bin"). Runs the bundled CLI, building it once first
// when it is missing, so `npx cleanroom` works straight after `npm install`.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const bundle = path.join(root, 'build', 'out', 'cli.cjs');

if (!existsSync(bundle)) {
  // Output captured: on failure the user gets one line and the command that shows the details.
  const built = spawnSync(process.execPath, [path.join(root, 'build', 'build.mjs'), '--quiet'], { cwd: root, stdio: 'pipe' });
  if (built.status !== 0 || !existsSync(bundle)) {
    process.stderr.write('cleanroom: could not build the command (`node build/build.mjs` failed); run `npm run build` to see why.\n');
    process.exit(1);
  }
}

require(bundle);
