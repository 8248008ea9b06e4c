import { NodeGraphDataFrameFieldNames as F, type DataFrame } from '@grafana/data';
import type { ServiceMapResponse } from '../datasource/hubTypes';
import { SHOP_MAP } from '../testing/hubFixtures';
import { HEALTH_COLORS, MAX_THICKNESS, MIN_THICKNESS } from './health';
import { FAILING_EDGE_COLOR, buildServiceMapFrames, mergeEdges, subtitleOf } from './serviceMapFrames';

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

  it('says which Service an edge went through, and shows the hub RTT max', () => {
    const map = {
      nodes: SHOP_MAP.nodes,
      edges: SHOP_MAP.edges.map((e, i) => (i === 0 ? { ...e, via: 'cart', rttMaxUs: 4321 } : e)),
    };
    const [, e] = buildServiceMapFrames(map, { refId: 'A' });
    expect(col(e, 'detail__via').values).toEqual(['via cart', '']);
    expect(col(e, 'detail__rtt_max').values[0]).toBe(4321);
  });

  it('colours an edge with failing connections, whatever its retransmissions, and says why (hub API 1.3)', () => {
    const map: ServiceMapResponse = {
      nodes: SHOP_MAP.nodes,
      edges: [
        // A healthy-looking edge (no retransmits) that a NetworkPolicy partly blocks, reported as two pod edges.
        { ...SHOP_MAP.edges[0]!, connectFailures: 2, resets: 1, drops: 7, dropsByReason: { NETFILTER_DROP: 7 } },
        { ...SHOP_MAP.edges[0]!, id: 'e1b', drops: 2, dropsByReason: { NETFILTER_DROP: 1, NO_SOCKET: 1 }, failures: 2 },
        { ...SHOP_MAP.edges[1]!, connectFailures: 0, resets: 0, drops: 0, dropsByReason: {}, failures: 0 },
      ],
    };
    const [, e] = buildServiceMapFrames(map, { refId: 'A' });
    expect(col(e, F.color).values).toEqual([FAILING_EDGE_COLOR, HEALTH_COLORS.degraded]);
    expect(col(e, 'detail__connect_failures').values).toEqual([2, 0]);
    expect(col(e, 'detail__resets').values).toEqual([1, 0]);
    expect(col(e, 'detail__drops').values).toEqual([9, 0]);
    expect(col(e, 'detail__drop_reasons').values).toEqual(['NETFILTER_DROP 8, NO_SOCKET 1', '']);
    // An older hub sends no failure fields: the colour stays the retransmission health.
    expect(col(edges, F.color).values[0]).toBe(HEALTH_COLORS.healthy);
    expect(col(edges, 'detail__drops').values).toEqual([0, 0]);
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

  it('uses the hub segment counts for edge and node ratios when every edge has one', () => {
    const withSegments = {
      ...SHOP_MAP,
      edges: [
        { ...SHOP_MAP.edges[0]!, segments: 1500 },
        // 12 retransmits over 400 segments is 3 %: lossy, where the bytes estimate said degraded.
        { ...SHOP_MAP.edges[1]!, segments: 400 },
      ],
    };
    const [n, e] = buildServiceMapFrames(withSegments);
    expect(col(e, F.secondaryStat).values).toEqual([0, 12 / 400]);
    expect(col(e, F.color).values).toEqual([HEALTH_COLORS.healthy, HEALTH_COLORS.lossy]);
    expect(col(e, 'detail__segments').values).toEqual([1500, 400]);
    const ids = col(n, F.id).values;
    const ratio = col(n, 'detail__retransmit_ratio').values;
    expect(ratio[ids.indexOf('shop/cart')]).toBe(12 / (1500 + 400));
    expect(ratio[ids.indexOf('shop/redis')]).toBe(12 / 400);
    expect(col(n, F.color).values[ids.indexOf('shop/redis')]).toBe(HEALTH_COLORS.lossy);
  });

  it('falls back to the bytes estimate where the hub gives no count (older hub or null)', () => {
    const [, e] = buildServiceMapFrames(SHOP_MAP);
    expect(col(e, 'detail__segments').values).toEqual([null, null]);
    const mixed = {
      ...SHOP_MAP,
      edges: [
        { ...SHOP_MAP.edges[0]!, segments: 1500 },
        { ...SHOP_MAP.edges[1]!, segments: null },
      ],
    };
    const [n, e2] = buildServiceMapFrames(mixed);
    expect(col(e2, F.secondaryStat).values).toEqual([0, 12 / (5_000_000 / 1448)]);
    const ids = col(n, F.id).values;
    // shop/cart sees one edge with a count and one without: its ratio is the estimate over all its bytes.
    expect(col(n, 'detail__retransmit_ratio').values[ids.indexOf('shop/cart')]).toBeCloseTo(
      12 / (7_000_000 / 1448),
      12
    );
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

  it('sums segment counts only while every merged edge has one', () => {
    const base = { source: 'a', target: 'b', bytes: 10, retransmits: 0, rtos: 0, rttUs: null };
    expect(
      mergeEdges([
        { ...base, id: '1', segments: 4 },
        { ...base, id: '2', segments: 6 },
      ])[0]!.segments
    ).toBe(10);
    expect(
      mergeEdges([
        { ...base, id: '1', segments: 4 },
        { ...base, id: '2' },
      ])[0]!.segments
    ).toBeNull();
    expect(
      mergeEdges([
        { ...base, id: '1' },
        { ...base, id: '2', segments: 6 },
      ])[0]!.segments
    ).toBeNull();
    expect(mergeEdges([{ ...base, id: '1', segments: null }])[0]!.segments).toBeNull();
  });
});

describe('clusters on the map (hub API 1.4)', () => {
  const inCluster = (cluster: string): ServiceMapResponse => ({
    nodes: SHOP_MAP.nodes.map((n) => ({ ...n, id: `${cluster}/${n.id}`, cluster })),
    edges: SHOP_MAP.edges.map((e) => ({
      ...e,
      id: `${cluster}/${e.id}`,
      source: `${cluster}/${e.source}`,
      target: `${cluster}/${e.target}`,
    })),
  });

  it('with two clusters, each node says its cluster first in its subtitle and in a Cluster detail', () => {
    const east = inCluster('east');
    const west = inCluster('west');
    const [nodes] = buildServiceMapFrames({
      nodes: [...east.nodes, ...west.nodes],
      edges: [...east.edges, ...west.edges],
    });
    const ids = col(nodes, F.id).values as string[];
    const sub = col(nodes, F.subTitle).values as string[];
    expect(sub[ids.indexOf('east/shop/cart')]).toBe('east · shop · Deployment');
    expect(sub[ids.indexOf('west/shop/cart')]).toBe('west · shop · Deployment');
    expect(col(nodes, 'detail__cluster').values[ids.indexOf('west/shop/cart')]).toBe('west');
    expect(col(nodes, 'detail__cluster').config.displayName).toBe('Cluster');
  });

  it('with one cluster the subtitle stays the hub’s; without clusters (older hub) there is no Cluster detail', () => {
    const [nodes] = buildServiceMapFrames(inCluster('east'));
    const ids = col(nodes, F.id).values as string[];
    expect(col(nodes, F.subTitle).values[ids.indexOf('east/shop/cart')]).toBe('shop · Deployment');
    expect(col(nodes, 'detail__cluster').values.every((c) => c === 'east')).toBe(true);
    const [old] = buildServiceMapFrames(SHOP_MAP);
    expect(old.fields.some((f) => f.name === 'detail__cluster')).toBe(false);
  });

  it('a node the hub gave a subtitle keeps it after its cluster', () => {
    expect(
      subtitleOf({ id: 'w/10.0.0.1', cluster: 'w', title: '10.0.0.1', subtitle: 'UNCLASSIFIED', namespace: null }, true)
    ).toBe('w · UNCLASSIFIED');
    expect(subtitleOf({ id: 'x', title: 'x', namespace: null, kind: null }, true)).toBe('');
  });
});
