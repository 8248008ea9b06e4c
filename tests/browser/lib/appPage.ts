/**
 * What the app's browser tests share once the app shell is open in Chromium: how Chromium is started, where a
 * panel and a variable picker are, and what every panel received (window.flowlensApp.panels).
 *
 * Locators are scoped: a panel by its header's test id, a variable's picker by its label's test id, and an option
 * by its exact name inside the open options menu, so a word that also appears elsewhere on the page (a column
 * "Resets" for "Reset", a namespace named like a cluster) never matches.
 */
import type { Locator, Page } from 'playwright-core';
import type { RecordedPanel } from '../app/protocol';

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A panel, by its title (Grafana's panel header test id). */
export const panelLocator = (page: Page, title: string): Locator =>
  page.getByTestId(`data-testid Panel header ${title}`);

export async function recordedPanels(page: Page): Promise<Record<string, RecordedPanel>> {
  return page.evaluate<Record<string, RecordedPanel>>('window.flowlensApp.panels');
}

/** Waits until the named panels have finished loading (Done or Error) and returns what every panel got. */
export async function settled(page: Page, titles: string[]): Promise<Record<string, RecordedPanel>> {
  await page.waitForFunction(
    (ts) => ts.every((t) => ['Done', 'Error'].includes((globalThis as any).flowlensApp.panels[t]?.state)),
    titles,
    { timeout: 30_000 }
  );
  // A last render may follow the data (field config applied): give React a frame.
  await page.waitForTimeout(300);
  return recordedPanels(page);
}

/** The picker of the variable labelled `label` in the page's controls (its label's test id, then its combobox). */
export function variablePicker(page: Page, label: string): Locator {
  return page
    .getByTestId(`data-testid Dashboard template variables submenu Label ${label}`)
    .locator('..')
    .getByRole('combobox');
}

/**
 * Opens the variable's picker and returns its options: react-select names them `<prefix>-option-<n>` after the
 * listbox the picker's combobox controls (`<prefix>-listbox`). Grafana's virtualized menu is rendered in a portal,
 * outside the picker, and carries neither that id nor a label, so the ids are what ties the options to this picker.
 */
async function openOptions(page: Page, label: string): Promise<Locator> {
  const picker = variablePicker(page, label);
  await picker.click();
  const listbox = await picker.getAttribute('aria-controls');
  if (!listbox?.endsWith('-listbox')) {
    throw new Error(`the ${label} picker opened no options menu (aria-controls ${String(listbox)})`);
  }
  const options = page.locator(`[role="option"][id^="${listbox.replace(/-listbox$/, '-option-')}"]`);
  await options.first().waitFor();
  return options;
}

/** Opens the variable's picker and returns the options it lists, in order; the menu is closed again. */
export async function variableOptions(page: Page, label: string): Promise<string[]> {
  const options = await openOptions(page, label);
  const names = (await options.allInnerTexts()).map((t) => t.trim());
  await page.keyboard.press('Escape');
  await options.first().waitFor({ state: 'detached' });
  return names;
}

/** Chooses `option` (its exact name) in the variable's picker. */
export async function chooseVariable(page: Page, label: string, option: string): Promise<void> {
  const options = await openOptions(page, label);
  await options.filter({ has: page.getByText(option, { exact: true }) }).click();
}
