/**
 * The panel plugins Grafana would load for the app's VizPanels, registered through setPluginImportUtils as
 * Grafana's plugin loader does: table, stat, time series and text built from @grafana/ui (and @grafana/data's
 * markdown renderer), as Grafana's own panels are. Node Graph lives only in Grafana core, so `nodeGraph` is a
 * stand-in: it checks the frames against Grafana's Node Graph field contract and lists nodes and edges with their
 * data links. Every panel records the PanelData it received in `window.flowlensApp.panels[title]`.
 */
import React from 'react';
import {
  FieldType,
  PanelPlugin,
  getFieldDisplayName,
  getFieldDisplayValues,
  renderTextPanelMarkdown,
  type DataFrame,
  type PanelProps,
  type ReduceDataOptions,
} from '@grafana/data';
import {
  BigValue,
  BigValueColorMode,
  BigValueGraphMode,
  BigValueJustifyMode,
  BigValueTextMode,
  Table,
  TimeSeries,
  useTheme2,
} from '@grafana/ui';
import { LegendDisplayMode } from '@grafana/schema';
import { nodeGraphViolations, splitNodeGraphFrames } from './nodeGraphContract';
import type { RecordedFrame, RecordedPanel } from './protocol';

export function recordFrames(series: DataFrame[]): RecordedFrame[] {
  return series.map((frame) => ({
    name: frame.name,
    refId: frame.refId,
    length: frame.length,
    meta: frame.meta?.preferredVisualisationType
      ? { preferredVisualisationType: frame.meta.preferredVisualisationType }
      : undefined,
    fields: frame.fields.map((f) => ({
      name: f.name,
      type: f.type,
      displayName: getFieldDisplayName(f, frame, series),
      labels: f.labels,
      values: [...f.values].map((v) => (v === undefined ? null : v)) as Array<string | number | boolean | null>,
    })),
  }));
}

function record(pluginId: string, props: PanelProps, extra: Partial<RecordedPanel> = {}): void {
  const panels = window.flowlensApp.panels;
  const prev = panels[props.title];
  panels[props.title] = {
    pluginId,
    state: props.data.state,
    frames: recordFrames(props.data.series),
    errors: (props.data.errors ?? []).map((e) => e.message ?? String(e)),
    renders: (prev?.renders ?? 0) + 1,
    ...extra,
  };
}

const noValueOf = (props: PanelProps) => props.fieldConfig.defaults.noValue ?? 'No data';

function NoData({ props }: { props: PanelProps }) {
  return (
    <div data-testid="flowlens-panel-no-data" style={{ padding: 8 }}>
      {noValueOf(props)}
    </div>
  );
}

interface TableOptions {
  showHeader?: boolean;
  sortBy?: Array<{ displayName: string; desc?: boolean }>;
}

function TablePanel(props: PanelProps<TableOptions>) {
  record('table', props);
  const frame = props.data.series[0];
  if (!frame || frame.length === 0) {
    return <NoData props={props} />;
  }
  return (
    <Table
      data={frame}
      width={props.width}
      height={props.height}
      noHeader={props.options.showHeader === false}
      initialSortBy={props.options.sortBy}
    />
  );
}

interface StatOptions {
  reduceOptions: ReduceDataOptions;
}

function StatPanel(props: PanelProps<StatOptions>) {
  record('stat', props);
  const theme = useTheme2();
  const values = getFieldDisplayValues({
    data: props.data.series,
    reduceOptions: props.options.reduceOptions ?? { calcs: ['lastNotNull'], values: false },
    fieldConfig: props.fieldConfig,
    replaceVariables: props.replaceVariables,
    theme,
    timeZone: props.timeZone,
  });
  if (values.length === 0) {
    return <NoData props={props} />;
  }
  const width = props.width / values.length;
  return (
    <div style={{ display: 'flex' }}>
      {values.map((v, i) => (
        <BigValue
          key={i}
          value={v.display}
          width={width}
          height={props.height}
          theme={theme}
          colorMode={BigValueColorMode.Value}
          graphMode={BigValueGraphMode.None}
          justifyMode={BigValueJustifyMode.Auto}
          textMode={BigValueTextMode.Auto}
        />
      ))}
    </div>
  );
}

function TimeSeriesPanel(props: PanelProps) {
  record('timeseries', props);
  const frames = props.data.series.filter((f) => f.fields.some((x) => x.type === FieldType.time) && f.length > 0);
  if (frames.length === 0) {
    return <NoData props={props} />;
  }
  return (
    <TimeSeries
      frames={frames}
      width={props.width}
      height={props.height}
      timeRange={props.timeRange}
      timeZone={props.timeZone}
      legend={{ showLegend: true, displayMode: LegendDisplayMode.List, placement: 'bottom', calcs: [] }}
      options={props.options}
    />
  );
}

function TextPanel(props: PanelProps<{ content?: string; mode?: string }>) {
  record('text', props);
  const html = renderTextPanelMarkdown(props.replaceVariables(props.options.content ?? ''));
  return <div className="markdown-html" style={{ padding: 8 }} dangerouslySetInnerHTML={{ __html: html }} />;
}

function linksOf(frame: DataFrame | undefined, row: number) {
  const id = frame?.fields.find((f) => f.name === 'id');
  return id?.getLinks?.({ valueRowIndex: row }) ?? [];
}

function display(frame: DataFrame | undefined, name: string, row: number): string {
  const f = frame?.fields.find((x) => x.name === name);
  if (!f) {
    return '';
  }
  const v = f.values[row];
  if (f.display) {
    const d = f.display(v);
    return `${d.prefix ?? ''}${d.text}${d.suffix ?? ''}`;
  }
  return v === null || v === undefined ? '' : String(v);
}

/** Stand-in for Grafana core's Node Graph: contract checks, then nodes and edges as lists with their links. */
function NodeGraphStandIn(props: PanelProps) {
  const violations = props.data.series.length > 0 ? nodeGraphViolations(props.data.series) : [];
  record('nodeGraph', props, { nodeGraphViolations: violations });
  if (props.data.series.length === 0) {
    return <NoData props={props} />;
  }
  const { nodes, edges } = splitNodeGraphFrames(props.data.series);
  const title = (id: unknown) => {
    const ids = nodes?.fields.find((f) => f.name === 'id')?.values ?? [];
    const i = ids.indexOf(id);
    return i >= 0 ? display(nodes, 'title', i) : String(id);
  };
  return (
    <div data-testid="flowlens-node-graph-stand-in" style={{ overflow: 'auto', height: props.height, fontSize: 12 }}>
      <p>Node Graph stand-in (Grafana core panel): the frames are checked against its field contract.</p>
      {violations.length > 0 && (
        <ul data-testid="flowlens-node-graph-violations">
          {violations.map((v) => (
            <li key={v}>{v}</li>
          ))}
        </ul>
      )}
      <h4>Nodes</h4>
      <ul>
        {Array.from({ length: nodes?.length ?? 0 }, (_, i) => (
          <li key={i} data-testid="flowlens-node-graph-node" data-id={String(nodes?.fields[0]?.values[i])}>
            <strong>{display(nodes, 'title', i)}</strong> {display(nodes, 'subtitle', i)} ·{' '}
            {display(nodes, 'mainstat', i)} · {display(nodes, 'secondarystat', i)}{' '}
            {linksOf(nodes, i).map((l) => (
              <a key={l.href} href={l.href}>
                {l.title}
              </a>
            ))}
          </li>
        ))}
      </ul>
      <h4>Edges</h4>
      <ul>
        {Array.from({ length: edges?.length ?? 0 }, (_, i) => {
          const source = edges?.fields.find((f) => f.name === 'source')?.values[i];
          const target = edges?.fields.find((f) => f.name === 'target')?.values[i];
          return (
            <li
              key={i}
              data-testid="flowlens-node-graph-edge"
              data-source={String(source)}
              data-target={String(target)}
            >
              {title(source)} → {title(target)} · {display(edges, 'mainstat', i)} · {display(edges, 'secondarystat', i)}{' '}
              {linksOf(edges, i).map((l) => (
                <a key={l.href} href={l.href}>
                  {l.title}
                </a>
              ))}
            </li>
          );
        })}
      </ul>
    </div>
  );
}

function plugin(id: string, name: string, component: React.ComponentType<PanelProps<any>>): PanelPlugin {
  const p = new PanelPlugin(component).useFieldConfig();
  p.meta = {
    id,
    name,
    type: 'panel',
    module: `core:plugin/${id}`,
    baseUrl: '',
    info: {},
  } as unknown as PanelPlugin['meta'];
  return p;
}

export const PANEL_PLUGINS: Record<string, PanelPlugin> = {
  table: plugin('table', 'Table', TablePanel),
  stat: plugin('stat', 'Stat', StatPanel),
  timeseries: plugin('timeseries', 'Time series', TimeSeriesPanel),
  text: plugin('text', 'Text', TextPanel),
  nodeGraph: plugin('nodeGraph', 'Node Graph (stand-in)', NodeGraphStandIn),
};
