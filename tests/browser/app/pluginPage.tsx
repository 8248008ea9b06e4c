/**
 * Grafana core's PluginPage as app plugins see it (set at boot through @grafana/runtime's setPluginPage): the page
 * title and subtitle, the tabs of the page's nav model (pageNav.children) as links, then the page. Grafana renders
 * these with its Page component; here the same nav model is rendered with @grafana/ui's TabsBar and Tab.
 */
import React from 'react';
import type { NavModelItem } from '@grafana/data';
import type { PluginPageProps } from '@grafana/runtime';
import { Tab, TabsBar, useTheme2 } from '@grafana/ui';

function tabsOf(nav?: NavModelItem): NavModelItem[] {
  for (let n: NavModelItem | undefined = nav; n; n = n.parentItem) {
    if (n.children?.length) {
      return n.children;
    }
  }
  return [];
}

export function ShellPluginPage({ pageNav, subTitle, children, actions }: PluginPageProps) {
  const theme = useTheme2();
  const tabs = tabsOf(pageNav);
  const crumbs: string[] = [];
  for (let n: NavModelItem | undefined = pageNav; n; n = n.parentItem) {
    crumbs.unshift(n.text);
  }
  return (
    <div style={{ padding: theme.spacing(2) }} data-testid="flowlens-shell-page">
      <nav aria-label="Breadcrumbs" style={{ color: theme.colors.text.secondary }}>
        {crumbs.join(' › ')}
      </nav>
      <h1>{pageNav?.text}</h1>
      {(subTitle ?? pageNav?.subTitle) && (
        <div style={{ color: theme.colors.text.secondary }}>{subTitle ?? pageNav?.subTitle}</div>
      )}
      {actions}
      {tabs.length > 0 && (
        <TabsBar>
          {tabs.map((t) => (
            <Tab key={t.url ?? t.text} label={t.text} href={t.url} active={t.active} />
          ))}
        </TabsBar>
      )}
      <div style={{ marginTop: theme.spacing(2) }} data-testid="flowlens-shell-page-body">
        {children}
      </div>
    </div>
  );
}
