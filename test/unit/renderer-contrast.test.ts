// The colours in renderer/src/styles.css read from the file itself: every text colour reaches WCAG's
// 4.5:1 against every background it is set on (the faint text was 3.4:1 on white, issue 14).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../support/paths.js';

/** The custom properties of the first `:root` block: `--text-faint` → `#6a6a76`. */
function rootVariables(css: string): Map<string, string> {
  const root = /:root\s*\{([^}]*)\}/u.exec(css);
  assert.ok(root !== null, 'styles.css has a :root block');
  const variables = new Map<string, string>();
  for (const match of (root[1] as string).matchAll(/(--[\w-]+)\s*:\s*([^;]+);/gu)) variables.set(match[1] as string, (match[2] as string).trim());
  return variables;
}

function channels(hex: string): [number, number, number] {
  const match = /^#([0-9a-f]{6})$/iu.exec(hex);
  assert.ok(match !== null, `${hex} is a #rrggbb colour`);
  const value = Number.parseInt(match[1] as string, 16);
  return [(value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff];
}

/** WCAG 2.x relative luminance. */
function luminance(hex: string): number {
  const [r, g, b] = channels(hex).map((channel) => {
    const c = channel / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2.x contrast ratio, 1 to 21. */
function contrast(foreground: string, background: string): number {
  const [light, dark] = [luminance(foreground), luminance(background)].sort((a, b) => b - a) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

const variables = rootVariables(readFileSync(path.join(repoRoot, 'renderer', 'src', 'styles.css'), 'utf8'));
const colour = (name: string): string => {
  const value = variables.get(name);
  assert.ok(value !== undefined, `styles.css defines ${name}`);
  return value;
};

/** Surfaces text sits on: the page, cards and panels, the sidebar, and the tinted notices. */
const backgrounds = ['--bg', '--bg-subtle', '--bg-sunken', '--sidebar', '--accent-soft', '--good-soft', '--warning-soft', '--danger-soft'];
const textColours = ['--text', '--text-muted', '--text-faint', '--accent', '--accent-text', '--good', '--warning', '--danger'];

describe('renderer colours: contrast of text (WCAG 2, 4.5:1 for normal text)', () => {
  it('computes contrast as WCAG defines it', () => {
    assert.equal(contrast('#000000', '#ffffff'), 21);
    assert.equal(contrast('#777777', '#777777'), 1);
    assert.equal(Math.round(contrast('#767676', '#ffffff') * 100) / 100, 4.54);
  });

  for (const text of textColours) {
    it(`${text} reaches 4.5:1 on every background`, () => {
      for (const background of backgrounds) {
        const ratio = contrast(colour(text), colour(background));
        assert.ok(ratio >= 4.5, `${text} ${colour(text)} on ${background} ${colour(background)} is ${ratio.toFixed(2)}:1`);
      }
    });
  }
});
