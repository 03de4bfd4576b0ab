// `npm test`: setup, build, typecheck, lint, then unit, integration and end-to-end suites.
// Every stage runs even when an earlier one failed, so one run shows everything that is wrong;
// the last line is the total, "N passed, N failed".
// `node build/test.mjs unit|integration|e2e|e2e-electron` runs one suite only.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const only = process.argv[2];

function filesUnder(dir, suffix) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...filesUnder(full, suffix));
    else if (entry.endsWith(suffix)) out.push(full);
  }
  return out.sort();
}

/** Runs a command, streaming its output, and resolves to its exit code and captured text. */
function run(command, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const forward = (stream, sink) => stream.on('data', (chunk) => { text += chunk; sink.write(chunk); });
    forward(child.stdout, process.stdout);
    forward(child.stderr, process.stderr);
    child.on('close', (code) => resolve({ code: code ?? 1, text }));
  });
}

const totals = { passed: 0, failed: 0 };
const stages = [];

function record(name, passed, failed) {
  totals.passed += passed;
  totals.failed += failed;
  stages.push(`${name}: ${passed} passed, ${failed} failed`);
}

async function check(name, command, args) {
  console.log(`\n=== ${name} ===`);
  const { code } = await run(command, args);
  record(name, code === 0 ? 1 : 0, code === 0 ? 0 : 1);
  return code === 0;
}

async function nodeSuite(name, dir) {
  console.log(`\n=== ${name} tests ===`);
  const files = filesUnder(path.join(root, 'test', dir), '.test.ts');
  if (files.length === 0) {
    console.log(`no ${name} tests found`);
    record(name, 0, 1);
    return;
  }
  const { code, text } = await run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...files]);
  const count = (label) => Number(text.match(new RegExp(`ℹ ${label} (\\d+)`))?.[1] ?? 0);
  const passed = count('pass');
  const failed = count('fail') + (code !== 0 && count('fail') === 0 ? 1 : 0);
  record(`${name} tests`, passed, failed);
}

async function e2eSuite(config) {
  console.log(`\n=== end-to-end tests (${path.basename(config)}) ===`);
  const { code, text } = await run(bin('wdio'), ['run', config]);
  const passing = [...text.matchAll(/(\d+) passing/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  const failing = [...text.matchAll(/(\d+) failing/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  record('end-to-end tests', passing, failing + (code !== 0 && failing === 0 ? 1 : 0));
}

const setupOk = await check('setup', process.execPath, [path.join(root, 'build', 'setup.mjs')]);
const buildOk = setupOk && (await check('build', process.execPath, [path.join(root, 'build', 'build.mjs'), '--quiet']));

if (!only) {
  for (const project of ['shared', 'electron', 'renderer', 'test', 'test/e2e']) {
    await check(`typecheck ${project}`, bin('tsc'), ['-p', project]);
  }
  await check('lint', bin('eslint'), ['-c', 'build/eslint.config.js', '--max-warnings', '0', '.']);
}
if (buildOk) {
  if (!only || only === 'unit') await nodeSuite('unit', 'unit');
  if (!only || only === 'integration') await nodeSuite('integration', 'integration');
  if (!only || only === 'e2e') await e2eSuite('test/e2e/wdio.chromium.conf.ts');
  if (only === 'e2e-electron') await e2eSuite('test/e2e/wdio.electron.conf.ts');
}

console.log('\n=== summary ===');
for (const line of stages) console.log(`  ${line}`);
console.log(`${totals.passed} passed, ${totals.failed} failed`);
process.exit(totals.failed === 0 && setupOk && buildOk ? 0 : 1);
