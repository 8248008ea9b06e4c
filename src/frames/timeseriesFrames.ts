// Hub time series → one Grafana time-series frame per labelled series.
import { FieldType, createDataFrame, type DataFrame } from '@grafana/data';
import type { Metric, TimeseriesResponse } from '../datasource/hubTypes';
import { METRIC_LABELS, metricUnit } from './units';

export function buildTimeseriesFrames(res: TimeseriesResponse, metric: Metric, refId?: string): DataFrame[] {
  return res.series.map((s) => {
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.labels)) {
      if (v !== null && v !== undefined) {
        labels[k] = String(v);
      }
    }
    const points = [...s.points].sort((a, b) => a.t - b.t);
    return createDataFrame({
      refId,
      name: Object.values(labels).join(' → ') || METRIC_LABELS[metric],
      fields: [
        { name: 'time', type: FieldType.time, values: points.map((p) => p.t), config: {} },
        {
          name: metric,
          type: FieldType.number,
          values: points.map((p) => p.v),
          labels,
          config: { displayName: METRIC_LABELS[metric], unit: metricUnit(metric) },
        },
      ],
      meta: { preferredVisualisationType: 'graph' },
    });
  });
}
