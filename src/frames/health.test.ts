import {
  HEALTH_COLORS,
  MAX_THICKNESS,
  MIN_THICKNESS,
  edgeThickness,
  hasSegmentCount,
  healthColor,
  retransmitRatio,
} from './health';
import { buildTimeseriesFrames } from './timeseriesFrames';

describe('health', () => {
  it('divides by the hub segment count when there is one (hub API 1.1), whatever the bytes', () => {
    expect(retransmitRatio({ bytes: 1e6, retransmits: 5, segments: 1000 })).toBe(0.005);
    // Small segments: 200 segments of 100 bytes. The estimate would say 5 / 13.8 (36 %); the count says 2.5 %.
    expect(retransmitRatio({ bytes: 20_000, retransmits: 5, segments: 200 })).toBe(0.025);
    expect(retransmitRatio({ bytes: 20_000, retransmits: 0, segments: 200 })).toBe(0);
    expect(retransmitRatio({ bytes: 0, retransmits: 3, segments: 0 })).toBe(1);
    expect(hasSegmentCount({ segments: 0 })).toBe(true);
  });

  it('estimates segments from bytes only when the hub gives no count (older hub, or null)', () => {
    expect(retransmitRatio({ bytes: 1448 * 1000, retransmits: 5 })).toBeCloseTo(0.005, 12);
    expect(retransmitRatio({ bytes: 1448 * 1000, retransmits: 5, segments: null })).toBeCloseTo(0.005, 12);
    expect(retransmitRatio({ bytes: 1448 * 1000, retransmits: 5, segments: undefined })).toBeCloseTo(0.005, 12);
    expect(hasSegmentCount({})).toBe(false);
    expect(hasSegmentCount({ segments: null })).toBe(false);
    expect(retransmitRatio({ bytes: 0, retransmits: 0 })).toBe(0);
    expect(retransmitRatio({ bytes: 0, retransmits: 3 })).toBe(1);
  });

  it('colours by thresholds', () => {
    expect(healthColor(0, 0)).toBe(HEALTH_COLORS.idle);
    expect(healthColor(0, 10)).toBe(HEALTH_COLORS.healthy);
    expect(healthColor(0.0009, 10)).toBe(HEALTH_COLORS.healthy);
    expect(healthColor(0.001, 10)).toBe(HEALTH_COLORS.degraded);
    expect(healthColor(0.01, 10)).toBe(HEALTH_COLORS.lossy);
  });

  it('scales thickness between the bounds, monotonically', () => {
    expect(edgeThickness(0, 100)).toBe(MIN_THICKNESS);
    expect(edgeThickness(100, 100)).toBe(MAX_THICKNESS);
    expect(edgeThickness(10, 100)).toBeLessThan(edgeThickness(50, 100));
  });
});

describe('buildTimeseriesFrames', () => {
  it('makes one sorted time series per hub series with the metric unit', () => {
    const frames = buildTimeseriesFrames(
      {
        series: [
          {
            name: 'INTER_AZ',
            points: [
              [2000, 5],
              [1000, 3],
            ],
          },
          { name: 'INTRA_AZ', points: [] },
        ],
      },
      'bytes',
      'C'
    );
    expect(frames).toHaveLength(2);
    expect(frames[0]?.fields[0]?.values).toEqual([1000, 2000]);
    expect(frames[0]?.fields[1]?.values).toEqual([3, 5]);
    expect(frames[0]?.fields[1]?.config.unit).toBe('decbytes');
    expect(frames[0]?.fields[1]?.config.displayName).toBe('INTER_AZ');
    expect(frames[0]?.refId).toBe('C');
  });
});
