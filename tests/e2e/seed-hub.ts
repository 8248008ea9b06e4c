/**
 * Posts the recorded fixture reports (tests/fixtures/reports, three nodes in two zones) to a running hub,
 * moved to the last few minutes, so the e2e suite's Grafana has flows to show.
 *   FLOWLENS_HUB_URL=http://127.0.0.1:8787 FLOWLENS_HUB_INGEST_TOKEN=… node --import tsx tests/e2e/seed-hub.ts
 */
import { fixtureReports } from '../lib/report-fixtures';

async function main(): Promise<number> {
  const hub = process.env.FLOWLENS_HUB_URL;
  const token = process.env.FLOWLENS_HUB_INGEST_TOKEN;
  if (!hub || !token) {
    console.error('set FLOWLENS_HUB_URL and FLOWLENS_HUB_INGEST_TOKEN');
    return 2;
  }
  for (const report of fixtureReports({ newId: true })) {
    const res = await fetch(`${hub}/api/v1/reports`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify(report),
      signal: AbortSignal.timeout(10_000),
    });
    console.log(`${report.node}: HTTP ${res.status}`);
    if (!res.ok) {
      console.error(await res.text());
      return 1;
    }
  }
  return 0;
}

main().then((code) => process.exit(code));
