import { NodeGraphDataFrameFieldNames as F, type DataFrame } from '@grafana/data';
import { SHOP_MAP } from '../testing/hubFixtures';
import { HEALTH_COLORS, MAX_THICKNESS, MIN_THICKNESS } from './health';
import { buildServiceMapFrames, mergeEdges } from './serviceMapFrames';

const col = (frame: DataFrame, name: string) => {
  const f = frame.fields.find((x) => x.name === name);
  if (!f) {
    throw new Error(`no field ${name} in ${frame.fields.map((x) => x.name).join(',')}`);
  }
  return f;
};

describe('buildServiceMapFrames', () => {
  const [nodes, edges] = buildServiceMapFrames(SHOP_MAP, { refId: 'A' });

  it('follows the Node Graph contract for both frames', () => {
    expect(nodes.meta?.preferredVisualisationType).toBe('nodeGraph');
    expect(edges.meta?.preferredVisualisationType).toBe('nodeGraph');
    for (const name of [
      F.id,
      F.title,
      F.subTitle,
      F.mainStat,
      F.secondaryStat,
      'arc__healthy',
      'arc__lossy',
      F.color,
    ]) {
      expect(col(nodes, name)).toBeDefined();
    }
    for (const name of [F.id, F.source, F.target, F.mainStat, F.secondaryStat, F.thickness, F.color]) {
      expect(col(edges, name)).toBeDefined();
    }
    expect(nodes.refId).toBe('A');
    expect(nodes.length).toBe(3);
    expect(edges.length).toBe(2);
  });

  it('sums the bytes through each node and splits them into healthy and lossy arcs summing to 1', () => {
    const ids = col(nodes, F.id).values;
    const bytes = col(nodes, F.mainStat).values;
    const healthy = col(nodes, 'arc__healthy').values;
    const lossy = col(nodes, 'arc__lossy').values;
    const cart = ids.indexOf('shop/cart');
    const front = ids.indexOf('shop/front');
    const redis = ids.indexOf('shop/redis');
    expect(bytes[cart]).toBe(7_000_000);
    expect(bytes[front]).toBe(2_000_000);
    expect(lossy[cart]).toBeCloseTo(5 / 7, 12);
    expect(lossy[front]).toBe(0);
    expect(lossy[redis]).toBe(1);
    ids.forEach((_, i) => expect(healthy[i] + lossy[i]).toBeCloseTo(1, 12));
    expect(col(nodes, F.secondaryStat).values[cart]).toBe(12);
  });

  it('puts units on every number', () => {
    for (const frame of [nodes, edges]) {
      for (const f of frame.fields.filter((x) => x.type === 'number')) {
        expect(f.config.unit).toBeTruthy();
      }
    }
  });

  it('draws thicker edges for more bytes and colours them by retransmission ratio', () => {
    const thickness = col(edges, F.thickness).values;
    expect(thickness[1]).toBe(MAX_THICKNESS);
    expect(thickness[0]).toBeGreaterThan(MIN_THICKNESS);
    expect(thickness[0]).toBeLessThan(thickness[1]);
    const colors = col(edges, F.color).values;
    expect(colors[0]).toBe(HEALTH_COLORS.healthy);
    // 12 retransmits over ~3453 segments (5 MB at 1448 B) is 0.35%: degraded.
    expect(colors[1]).toBe(HEALTH_COLORS.degraded);
    expect(col(edges, F.secondaryStat).values[1]).toBeCloseTo(12 / (5_000_000 / 1448), 9);
    expect(col(edges, 'detail__rtos').values).toEqual([0, 1]);
    expect(col(edges, 'detail__rtt_avg').values).toEqual([800, 250]);
  });

  it('adds drilldown links when asked', () => {
    const [n, e] = buildServiceMapFrames(SHOP_MAP, {
      nodeLink: (x) => `/node/${x.id}`,
      edgeLink: (s, t) => `/edge/${s.id}/${t.id}`,
    });
    expect(col(n, 'drilldown').values).toEqual(['/node/shop/front', '/node/shop/cart', '/node/shop/redis']);
    expect(col(e, 'drilldown').values).toEqual(['/edge/shop/front/shop/cart', '/edge/shop/cart/shop/redis']);
    expect(col(n, F.id).config.links?.[0]?.url).toBe('${__data.fields.drilldown}');
  });

  it('invents a node for an edge end the hub did not list, rather than dropping the edge', () => {
    const [n] = buildServiceMapFrames({
      nodes: [],
      edges: [{ id: 'x', source: 'a', target: '10.9.9.9', bytes: 1, retransmits: 0, rtos: 0, rttUs: null }],
    });
    expect(col(n, F.id).values).toEqual(['a', '10.9.9.9']);
  });

  it('handles an empty map', () => {
    const [n, e] = buildServiceMapFrames({ nodes: [], edges: [] });
    expect(n.length).toBe(0);
    expect(e.length).toBe(0);
  });
});

describe('mergeEdges', () => {
  it('merges repeated source→target pairs with exact sums and a byte-weighted RTT', () => {
    const merged = mergeEdges([
      { id: '1', source: 'a', target: 'b', bytes: 100, retransmits: 1, rtos: 0, rttUs: 100 },
      {
        id: '2',
        source: 'a',
        target: 'b',
        bytes: 300,
        retransmits: 2,
        rtos: 1,
        rttUs: { min: 150, avg: 200, max: 900 },
      },
      { id: '3', source: 'b', target: 'a', bytes: 7, retransmits: 0, rtos: 0, rttUs: null },
    ]);
    expect(merged).toHaveLength(2);
    const ab = merged[0]!;
    expect([ab.bytes, ab.retransmits, ab.rtos]).toEqual([400, 3, 1]);
    expect(ab.rttWeighted / ab.rttWeight).toBeCloseTo((100 * 100 + 200 * 300) / 400, 9);
    expect([ab.rttMin, ab.rttMax]).toEqual([100, 900]);
    expect(merged[1]!.rttSamples).toBe(0);
  });
});
