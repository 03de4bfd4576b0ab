// The README shows the CLI in one form, `npx cleanroom`, which works in a fresh checkout after
// `npm install` (npm runs the package's own bin); a bare `cleanroom` needs a link nobody made.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../support/paths.js';

const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

/** The lines of the README's fenced code blocks. */
function codeLines(text: string): string[] {
  const out: string[] = [];
  let inside = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) inside = !inside;
    else if (inside) out.push(line);
  }
  return out;
}

describe('README: how the CLI is run', () => {
  it('names the bin that package.json declares, and the file exists', () => {
    const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
    assert.equal(manifest.bin?.['cleanroom'], 'electron/cli/cleanroom.cjs');
    assert.ok(existsSync(path.join(repoRoot, 'electron', 'cli', 'cleanroom.cjs')));
    assert.ok(readme.includes('`npx cleanroom`'));
  });

  it('runs every command as `npx cleanroom`, in code blocks and in the text', () => {
    const bare = codeLines(readme).filter((line) => /(^|[\s;&|(])cleanroom\s/.test(line) && !/npx cleanroom\s/.test(line));
    assert.deepEqual(bare, [], 'code lines that run a bare `cleanroom`');
    // Inline code that is a command (the name followed by a subcommand or option), not the name alone.
    const inline = [...readme.matchAll(/`([^`\n]*)`/g)].map((match) => match[1] as string).filter((code) => /(^|\s)cleanroom\s/.test(code) && !/npx cleanroom\s/.test(code));
    assert.deepEqual(inline, [], 'inline commands that run a bare `cleanroom`');
    assert.ok(codeLines(readme).filter((line) => line.startsWith('npx cleanroom ')).length >= 30);
  });
});
