// What the app shell and tests/browser/app-pages.test.ts exchange: the shell's settings (served as
// /harness-config.json) and what it recorded (window.flowlensApp).
import type { DataSourceInstanceSettings } from '@grafana/data';
import type { AppSettings } from '../../../src/app/settings';

export interface ShellConfig {
  /** Datasource instance settings as Grafana's bootData lists them (url = the data proxy path). */
  datasources: Array<
    Pick<DataSourceInstanceSettings, 'uid' | 'name' | 'type' | 'url'> & { jsonData: Record<string, unknown> }
  >;
  /** The app's jsonData (what its configuration page saved). */
  appJsonData: AppSettings;
}

export interface RecordedFrame {
  name?: string;
  refId?: string;
  length: number;
  meta?: { preferredVisualisationType?: string };
  fields: Array<{
    name: string;
    type: string;
    displayName: string;
    labels?: Record<string, string>;
    values: Array<string | number | boolean | null>;
  }>;
}

export interface RecordedPanel {
  pluginId: string;
  state: string;
  frames: RecordedFrame[];
  errors: string[];
  renders: number;
  nodeGraphViolations?: string[];
}

export interface ShellState {
  booted: boolean;
  panels: Record<string, RecordedPanel>;
  /** Calls made through backendSrv (method, URL, JSON body). */
  backendCalls: Array<{ method: string; url: string; body?: unknown }>;
  errors: string[];
}
