import { HEALTH_COLORS, MAX_THICKNESS, MIN_THICKNESS, edgeThickness, healthColor, retransmitRatio } from './health';
import { buildTimeseriesFrames } from './timeseriesFrames';

describe('health', () => {
  it('uses the segment count when the hub gives one, else estimates segments from bytes', () => {
    expect(retransmitRatio({ bytes: 1e6, retransmits: 5, segments: 1000 })).toBe(0.005);
    expect(retransmitRatio({ bytes: 1448 * 1000, retransmits: 5 })).toBeCloseTo(0.005, 12);
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
