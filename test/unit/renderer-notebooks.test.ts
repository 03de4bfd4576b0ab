// What the notebook and snapshot screens compute: approval wording, the matrix's key cells, who
// may approve, markdown as plain blocks, the starter notebook and the approve form's checks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { approvalStates } from '../../shared/approval-status.js';
import { defaultApprovalDays, defaultApprovalRuns } from '../../shared/approval.js';
import {
  approvalsLabel,
  approvalStateInfo,
  canApprove,
  checkApprove,
  defaultApproveInput,
  keyCell,
  markdownBlocks,
  notebookNameProblem,
  runsLabel,
  starterNotebook,
} from '../../renderer/src/notebooks.js';
import { tokenizeSql } from '../../renderer/src/sqlHighlight.js';

describe('approval states', () => {
  it('has a label, tone and explanation for every state core reports', () => {
    assert.deepEqual(Object.keys(approvalStateInfo).sort(), [...approvalStates].sort());
    assert.equal(approvalStateInfo.approved.tone, 'good');
    assert.equal(approvalStateInfo.revoked.tone, 'danger');
    assert.equal(approvalStateInfo.expired.tone, 'danger');
    assert.equal(approvalStateInfo.missing.label, 'Not yet');
  });

  it('counts approvals as "x of y approved"', () => {
    assert.equal(approvalsLabel({ approvedCount: 1, memberCount: 2 }), '1 of 2 approved');
  });
});

describe('the approval matrix', () => {
  const row = { keys: [{ asset: 'admissions', released: true }, { asset: 'visits', released: false }] };

  it('shows released, withheld, or not theirs for each asset', () => {
    assert.equal(keyCell(row, 'admissions'), 'released');
    assert.equal(keyCell(row, 'visits'), 'withheld');
    assert.equal(keyCell(row, 'policies'), 'not-theirs');
  });

  it('offers approval to anyone not currently approving, and to the author only for keys still withheld', () => {
    assert.equal(canApprove({ state: 'missing', keys: [] }), true);
    assert.equal(canApprove({ state: 'revoked', keys: [] }), true);
    assert.equal(canApprove({ state: 'expired', keys: [] }), true);
    assert.equal(canApprove({ state: 'used-up', keys: [] }), true);
    assert.equal(canApprove({ state: 'approved', keys: [{ asset: 'a', released: false }] }), false);
    assert.equal(canApprove({ state: 'author', keys: [] }), false);
    assert.equal(canApprove({ state: 'author', keys: [{ asset: 'a', released: true }] }), false);
    assert.equal(canApprove({ state: 'author', keys: [{ asset: 'a', released: false }] }), true);
  });
});

describe('approve form', () => {
  it('starts at the defaults: 7 days, 1 run', () => {
    assert.deepEqual(defaultApproveInput, { expiresDays: String(defaultApprovalDays), runs: String(defaultApprovalRuns) });
    assert.deepEqual(checkApprove(defaultApproveInput), { ok: true, expiresDays: 7, runs: 1 });
  });

  it('refuses values approval.grant would refuse, saying the range', () => {
    assert.deepEqual(checkApprove({ expiresDays: '0', runs: '1001' }), {
      ok: false,
      problems: { expiresDays: 'Use a whole number from 1 to 365.', runs: 'Use a whole number from 1 to 1000.' },
    });
    assert.deepEqual(checkApprove({ expiresDays: '30', runs: '2.5' }), {
      ok: false,
      problems: { runs: 'Use a whole number (digits only) from 1 to 1000.' },
    });
  });

  it('says runs in words', () => {
    assert.equal(runsLabel(1), '1 run');
    assert.equal(runsLabel(3), '3 runs');
  });
});

describe('markdown cells', () => {
  it('drops the comment prefix and splits headings, paragraphs and lists', () => {
    const source = '-- # Readmissions\n-- Joins admissions with policies\n-- on patient id.\n--\n-- - by age band\n-- - by plan\n';
    assert.deepEqual(markdownBlocks(source), [
      { kind: 'heading', level: 1, text: 'Readmissions' },
      { kind: 'paragraph', text: 'Joins admissions with policies on patient id.' },
      { kind: 'list', items: ['by age band', 'by plan'] },
    ]);
  });

  it('keeps markup as text, never as HTML', () => {
    assert.deepEqual(markdownBlocks('<img src=x onerror=alert(1)>\n#### <b>deep</b>'), [
      { kind: 'paragraph', text: '<img src=x onerror=alert(1)>' },
      { kind: 'heading', level: 3, text: '<b>deep</b>' },
    ]);
  });

  it('reads uncommented text as it is', () => {
    assert.deepEqual(markdownBlocks('Plain words\n\n-- not all lines are comments'), [
      { kind: 'paragraph', text: 'Plain words' },
      { kind: 'paragraph', text: '-- not all lines are comments' },
    ]);
  });
});

describe('a new notebook', () => {
  it('starts with a markdown cell and an output cell over the first table of the room', () => {
    const text = starterNotebook([
      { name: 'models', kind: 'volume' },
      { name: 'admissions', kind: 'table' },
    ]);
    const markers = tokenizeSql(text).filter((token) => token.kind === 'marker').map((token) => token.text);
    assert.deepEqual(markers, ['-- %% [markdown]', '-- %% output=summary']);
    assert.match(text, /FROM admissions\n$/);
    assert.match(starterNotebook([]), /FROM my_table\n$/);
  });

  it('needs a name of at most 100 characters', () => {
    assert.equal(notebookNameProblem('  '), 'Enter a name for the notebook.');
    assert.equal(notebookNameProblem('x'.repeat(101)), 'Use at most 100 characters.');
    assert.equal(notebookNameProblem('Readmission rate'), null);
  });
});
