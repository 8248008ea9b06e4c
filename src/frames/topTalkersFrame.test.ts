import { CART_TO_REDIS, CART_TO_S3, FRONT_TO_CART } from '../testing/hubFixtures';
import { buildTopTalkersFrame, dropReasonsText, TOP_TALKER_COLUMNS } from './topTalkersFrame';

describe('buildTopTalkersFrame', () => {
  const rows = [CART_TO_REDIS, FRONT_TO_CART, CART_TO_S3];
  const frame = buildTopTalkersFrame(rows, { refId: 'B', metric: 'bytes' });
  const values = (name: string) => frame.fields.find((f) => f.name === name)?.values;

  it('has one column per side attribute and counter, one row per hub row, in hub order', () => {
    expect(frame.refId).toBe('B');
    expect(frame.length).toBe(3);
    for (const name of [
      'local_pod',
      'local_workload',
      'local_namespace',
      'local_ip',
      'local_zone',
      'remote_pod',
      'remote_workload',
      'remote_namespace',
      'remote_ip',
      'remote_zone',
      'bytes',
      'retransmits',
      'rtos',
      'rtt_us',
    ]) {
      expect(values(name)).toBeDefined();
    }
    expect(values('local_pod')).toEqual(['cart-7d9f', 'front-55c', 'cart-7d9f']);
    expect(values('remote_ip')).toEqual(['10.0.1.9', '10.0.1.5', '52.216.1.1']);
    expect(values('remote_service')).toEqual([null, null, 'S3']);
    expect(values('bytes')).toEqual([5_000_000, 2_000_000, 900]);
    expect(values('retransmits')).toEqual([12, 0, 0]);
    expect(values('rtos')).toEqual([1, 0, 0]);
    expect(values('server_port')).toEqual([6379, 8080, 443]);
    expect(values('category')).toEqual(['INTRA_AZ', 'INTER_AZ', 'AMAZON_S3']);
  });

  it('reads the RTT in either of the hub forms (µs number or min/avg/max)', () => {
    expect(values('rtt_us')).toEqual([250, 800, null]);
  });

  it('gives every numeric column a unit and a display name', () => {
    for (const f of frame.fields.filter((x) => x.type === 'number')) {
      expect(f.config.unit).toBeTruthy();
      expect(f.config.displayName).toBeTruthy();
    }
    expect(frame.fields.find((f) => f.name === 'bytes')?.config.unit).toBe('decbytes');
    expect(frame.fields.find((f) => f.name === 'rtt_us')?.config.unit).toBe('µs');
  });

  it('adds a Direction column for drilldowns and checks it lines up', () => {
    const f = buildTopTalkersFrame([CART_TO_REDIS], { directions: ['outbound'] });
    expect(f.fields[0]?.name).toBe('direction');
    expect(f.fields[0]?.values).toEqual(['outbound']);
    expect(() => buildTopTalkersFrame([CART_TO_REDIS], { directions: [] })).toThrow(/must match/);
  });

  it('yields an empty table (all columns, no rows) for no flows', () => {
    const f = buildTopTalkersFrame([]);
    expect(f.length).toBe(0);
    expect(f.fields).toHaveLength(TOP_TALKER_COLUMNS.length);
  });

  it('shows why connections and packets failed (hub API 1.3), empty where an older hub sent nothing', () => {
    const failing = {
      ...CART_TO_REDIS,
      connectAttempts: 9,
      connectFailures: 4,
      connectRefused: 3,
      synRetransmits: 2,
      resetsFromClient: 1,
      resetsFromServer: 2,
      resets: 3,
      drops: 15,
      dropsByReason: { NO_SOCKET: 3, NETFILTER_DROP: 12 },
      failures: 22,
    };
    const f = buildTopTalkersFrame([failing, FRONT_TO_CART], { metric: 'failures' });
    const col = (name: string) => f.fields.find((x) => x.name === name);
    expect(col('connect_attempts')?.values).toEqual([9, null]);
    expect(col('connect_failures')?.values).toEqual([4, null]);
    expect(col('connect_refused')?.values).toEqual([3, null]);
    expect(col('syn_retransmits')?.values).toEqual([2, null]);
    expect(col('resets')?.values).toEqual([3, null]);
    expect(col('drops')?.values).toEqual([15, null]);
    expect(col('drop_reasons')?.values).toEqual(['NETFILTER_DROP 12, NO_SOCKET 3', null]);
    expect(col('value')?.config.displayName).toBe('Failures (ranked)');
    expect(col('connect_failures')?.config.displayName).toBe('Connect failures');
  });

  it('writes drop reasons most first, and nothing for no drops', () => {
    expect(dropReasonsText({ A: 1, B: 5, C: 0 })).toBe('B 5, A 1');
    expect(dropReasonsText({})).toBeNull();
    expect(dropReasonsText(undefined)).toBeNull();
  });
});
