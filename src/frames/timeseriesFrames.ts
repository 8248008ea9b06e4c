// Hub time series → one Grafana time-series frame per named series.
import { FieldType, createDataFrame, type DataFrame } from '@grafana/data';
import type { Metric, TimeseriesResponse } from '../datasource/hubTypes';
import { METRIC_LABELS, metricUnit } from './units';

export function buildTimeseriesFrames(res: TimeseriesResponse, metric: Metric, refId?: string): DataFrame[] {
  return res.series.map((s) => {
    const points = [...s.points].sort((a, b) => a[0] - b[0]);
    return createDataFrame({
      refId,
      name: s.name,
      fields: [
        { name: 'time', type: FieldType.time, values: points.map((p) => p[0]), config: {} },
        {
          name: metric,
          type: FieldType.number,
          values: points.map((p) => p[1]),
          labels: { series: s.name },
          config: { displayName: s.name || METRIC_LABELS[metric], unit: metricUnit(metric) },
        },
      ],
      meta: { preferredVisualisationType: 'graph' },
    });
  });
}
