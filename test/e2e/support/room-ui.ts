// Finding things on a room's screen and the steps every multi-party spec takes there.
import { $, expect } from '@wdio/globals';
import { byTestId, typeInto } from './ui.js';

export const asset = (name: string) => $(`[data-testid="asset"][data-name="${name}"]`);
export const schemaRow = (column: string) => $(`[data-testid="schema-row"][data-column="${column}"]`);
export const approvalRow = (alias: string) => $(`[data-testid="approval-row"][data-alias="${alias}"]`);

export async function openTab(tab: 'overview' | 'assets' | 'notebooks' | 'runs' | 'outputs'): Promise<void> {
  await byTestId(`tab-${tab}`).click();
  await expect(byTestId(`tab-${tab}`)).toHaveAttribute('aria-selected', 'true');
  await expect(byTestId('room-screen')).toHaveAttribute('data-tab', tab);
}

/** Through the Assets tab, with a typed path: Inspect, roles, name, import; waits for the new card. */
export async function importTable(file: string, name: string, roles: Record<string, string>): Promise<void> {
  await openTab('assets');
  await byTestId('add-table-button').click();
  await typeInto('table-path', file);
  await byTestId('table-inspect').click();
  await byTestId('schema-review').waitForDisplayed();
  for (const [column, role] of Object.entries(roles)) {
    const select = schemaRow(column).$('[data-testid="schema-role"]');
    await select.selectByAttribute('value', role);
    await expect(select).toHaveAttribute('data-role', role);
  }
  await typeInto('table-name', name);
  await byTestId('table-import-submit').click();
  await byTestId('asset-next-step').waitForDisplayed();
  await expect(asset(name)).toHaveAttribute('data-mine', 'true');
}
