import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ENA_ALLOWANCE_STATS, parseEnaAllowances, parseEthtoolStats } from './parse.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

test('older ENA driver (2.2.10, eth0): the five exceeded counters, no conntrack_allowance_available', () => {
  assert.deepEqual(parseEnaAllowances(fixture('ena-2.2.10-eth0.txt')), {
    bw_in_allowance_exceeded: 1843,
    bw_out_allowance_exceeded: 27,
    pps_allowance_exceeded: 5,
    conntrack_allowance_exceeded: 0,
    linklocal_allowance_exceeded: 411,
  });
});

test('newer ENA driver (2.8.9, ens5): all six stats by name, per-queue stats ignored', () => {
  assert.deepEqual(parseEnaAllowances(fixture('ena-2.8.9-ens5.txt')), {
    bw_in_allowance_exceeded: 0,
    bw_out_allowance_exceeded: 93012,
    pps_allowance_exceeded: 17,
    conntrack_allowance_exceeded: 2,
    linklocal_allowance_exceeded: 0,
    conntrack_allowance_available: 449210,
  });
});

test('ENA Express stats present (2.12.0, ens5): allowance stats still read by name', () => {
  const text = fixture('ena-2.12.0-ens5-express.txt');
  assert.deepEqual(parseEnaAllowances(text), {
    bw_in_allowance_exceeded: 7,
    bw_out_allowance_exceeded: 3,
    pps_allowance_exceeded: 120455,
    conntrack_allowance_exceeded: 64,
    linklocal_allowance_exceeded: 9,
    conntrack_allowance_available: 1021,
  });
  assert.equal(parseEthtoolStats(text).get('ena_srd_tx_pkts'), 88123451);
});

test('a driver without allowance stats yields nothing (very old ENA, virtio_net)', () => {
  assert.deepEqual(parseEnaAllowances(fixture('ena-2.1.0-eth0.txt')), {});
  assert.deepEqual(parseEnaAllowances(fixture('virtio_net-eth0.txt')), {});
  assert.ok(parseEthtoolStats(fixture('virtio_net-eth0.txt')).size > 0);
});

test('order does not matter: stats are matched by name, not position', () => {
  const lines = fixture('ena-2.8.9-ens5.txt').split('\n');
  const shuffled = [lines[0]!, ...lines.slice(1).reverse()].join('\n');
  assert.deepEqual(parseEnaAllowances(shuffled), parseEnaAllowances(fixture('ena-2.8.9-ens5.txt')));
});

test('names are matched exactly: a longer stat name containing an allowance name is not taken', () => {
  const text = 'NIC statistics:\n     queue_0_pps_allowance_exceeded: 5\n     pps_allowance_exceeded_x: 6\n';
  assert.deepEqual(parseEnaAllowances(text), {});
  assert.deepEqual(ENA_ALLOWANCE_STATS.length, 6);
});

test('odd lines are skipped, not misread', () => {
  const text =
    'no stats available\nNIC statistics:\n     bw_in_allowance_exceeded: -1\n     pps_allowance_exceeded: 12abc\n';
  assert.deepEqual(parseEnaAllowances(text), {});
  assert.deepEqual(parseEnaAllowances(''), {});
});
