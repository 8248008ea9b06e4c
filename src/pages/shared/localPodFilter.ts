// The flow table's "Local pod" filter: keeps the rows whose local pod is the one typed (exact name), or all rows
// when nothing is typed. Rows without a local pod (host-network or unknown IPs) stay unless a pod is given.
import type { DataFrame } from '@grafana/data';

export const LOCAL_POD_FIELD = 'local_pod';

export function keepLocalPod(frames: DataFrame[], pod: string): DataFrame[] {
  const wanted = pod.trim();
  if (wanted === '') {
    return frames;
  }
  return frames.map((frame) => {
    const field = frame.fields.find((f) => f.name === LOCAL_POD_FIELD);
    if (!field) {
      return frame;
    }
    const rows: number[] = [];
    field.values.forEach((v, i) => {
      if (v === wanted) {
        rows.push(i);
      }
    });
    return {
      ...frame,
      length: rows.length,
      fields: frame.fields.map((f) => ({ ...f, values: rows.map((i) => f.values[i]) })),
    };
  });
}
