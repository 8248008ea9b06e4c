// Reading a Grafana table (@grafana/ui Table) from the DOM: header → cell text for every body row.
import type { Locator } from 'playwright-core';

export async function tableCells(scope: Locator): Promise<Array<Record<string, string>>> {
  const headers = (await scope.locator('[role="columnheader"]').allTextContents()).map((h) => h.trim());
  const out: Array<Record<string, string>> = [];
  for (const row of await scope.locator('[role="row"]').all()) {
    const cells = (await row.locator('[role="cell"], [role="gridcell"]').allTextContents()).map((c) => c.trim());
    if (cells.length === headers.length) {
      out.push(Object.fromEntries(cells.map((c, i) => [headers[i] ?? String(i), c])));
    }
  }
  return out;
}

export async function tableHeaders(scope: Locator): Promise<string[]> {
  return (await scope.locator('[role="columnheader"]').allTextContents()).map((h) => h.trim());
}
