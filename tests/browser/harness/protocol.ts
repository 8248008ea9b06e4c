// What the browser harness and the test exchange: the page's settings (served as /harness-config.json) and
// the calls it recorded (window.flowlensHarness).
import type { Category } from '../../../src/datasource/hubTypes';

export interface HarnessConfig {
  uid: string;
  /** Grafana's proxy path for the datasource, on the page's own origin. */
  datasourceUrl: string;
  /** jsonData.hubUrl as provisioned (not a secret). */
  hubUrl: string;
  from: number;
  to: number;
  categories: Category[];
}

export interface HarnessState {
  optionsChanges: Array<{ jsonData: Record<string, unknown>; secureJsonData?: Record<string, unknown> }>;
  queryChanges: Array<Record<string, unknown>>;
  runQueries: number;
  /** Rows of the table frame once the query has answered. */
  tableRows: number | null;
  error: string | null;
}
