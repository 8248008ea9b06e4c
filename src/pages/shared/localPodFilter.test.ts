import { FieldType, createDataFrame } from '@grafana/data';
import { keepLocalPod } from './localPodFilter';

const frame = createDataFrame({
  fields: [
    { name: 'local_pod', type: FieldType.string, values: ['web-1', null, 'web-10', 'web-1'] },
    { name: 'bytes', type: FieldType.number, values: [1, 2, 3, 4] },
  ],
});

describe('keepLocalPod', () => {
  it('keeps every row when no pod is typed', () => {
    expect(keepLocalPod([frame], '  ')).toEqual([frame]);
  });

  it('keeps the rows of exactly that pod, every field cut alike', () => {
    const [out] = keepLocalPod([frame], ' web-1 ');
    expect(out?.length).toBe(2);
    expect(out?.fields.map((f) => f.values)).toEqual([
      ['web-1', 'web-1'],
      [1, 4],
    ]);
  });

  it('leaves frames without a local pod column alone', () => {
    const other = createDataFrame({ fields: [{ name: 'x', type: FieldType.number, values: [1] }] });
    expect(keepLocalPod([other], 'web-1')).toEqual([other]);
  });
});
