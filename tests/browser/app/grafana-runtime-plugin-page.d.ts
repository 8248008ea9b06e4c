// @grafana/runtime's setPluginPage is internal (not in its package exports); the shell imports the module that
// holds it by path (tests/browser/harness/build.ts aliases this name), as Grafana's own bundle does.
declare module 'grafana-runtime-plugin-page' {
  import type { PluginPageType } from '@grafana/runtime';
  export function setPluginPage(component: PluginPageType): void;
}
