/**
 * The kernels users run: Debian 12's own Linux 6.1 and 6.12 (cloud images, fetched from Debian's archive and never
 * installed) booted under qemu (TCG, no /dev/kvm) with an initramfs holding the static loader, the BPF objects and
 * a static scenario program (agent/test/qemu/). Inside each VM the scenarios run in two network namespaces joined
 * by a veth pair; the VM prints the loader's own output lines and each namespace's /proc/net counters on the serial
 * console, and every number below is the agent's (parsed with agent/src/bpf/protocol.ts) compared with the ground
 * truth measured inside the same VM: the bytes the generator moved and the kernel's own TCP counters.
 * Both VMs boot side by side in `before` (one vCPU each); each test reads its kernel's results.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { before, test, type TestContext } from 'node:test';
import type { KernelFlow } from '../../src/bpf/protocol.js';
import { bpfArtifactPaths } from '../lib/agent-process.js';
import { requireBinary } from '../lib/privileges.js';
import {
  BUSYBOX,
  ETHTOOL,
  IPROUTE2,
  IPVSADM,
  XTABLES,
  KERNELS,
  NETLINK_LOADER_ARGS,
  QEMU,
  bootReachingInit,
  buildInitramfs,
  buildStaticTools,
  fetchKernel,
  serialLog,
  type BootResult,
  type Kernel,
} from '../qemu/vm.js';
import {
  collectsThrough,
  counterDelta,
  lossComparison,
  parseVmOutput,
  sumCollects,
  tcpDelta,
  type FlowTotals,
  type LossComparison,
  type VmRun,
} from '../qemu/vm-output.js';

const CLIENT = '10.77.0.1';
const SERVER = '10.77.0.2';
const CLIENT6 = 'fd77::1';
const SERVER6 = 'fd77::2';
const STATIC_LIBS = ['/usr/lib/x86_64-linux-gnu/libbpf.a', '/usr/lib/x86_64-linux-gnu/libelf.a'];
const NEEDED = [
  QEMU,
  BUSYBOX,
  ETHTOOL,
  IPROUTE2,
  XTABLES,
  IPVSADM,
  '/usr/bin/xz',
  ...STATIC_LIBS,
  ...bpfArtifactPaths().filter((p) => p.endsWith('.o')),
];

interface VmResult {
  kernel: Kernel;
  boot: BootResult;
  run: VmRun;
}
/** Keyed by kernel name, and `<name> netlink` for the second boot (the ipvs scenario with netlink events). */
const results = new Map<string, VmResult | Error>();
const NETLINK = 'netlink';

function ready(t: TestContext): boolean {
  return NEEDED.every((p) => requireBinary(t, p));
}

before(async () => {
  if (!NEEDED.every((p) => existsSync(p))) {
    return;
  }
  await buildStaticTools();
  await Promise.all(
    KERNELS.map(async (spec) => {
      try {
        const kernel = await fetchKernel(spec);
        const initramfs = await buildInitramfs(kernel);
        const result = await bootReachingInit(kernel, initramfs);
        results.set(spec.name, { kernel, boot: result, run: parseVmOutput(result.serial) });
        // then the IPVS scenarios alone with the other translation source (after the first boot: one VM per core):
        // adoptipvs starts the loader (a connection through IPVS older than it), then ipvs
        const netlink = await buildInitramfs(kernel, {
          only: ['adoptipvs', 'ipvs'],
          loaderArgs: NETLINK_LOADER_ARGS,
          tag: NETLINK,
        });
        const second = await bootReachingInit(kernel, netlink);
        results.set(`${spec.name} ${NETLINK}`, { kernel, boot: second, run: parseVmOutput(second.serial) });
      } catch (e) {
        results.set(spec.name, e as Error);
        results.set(`${spec.name} ${NETLINK}`, e as Error);
      }
    })
  );
});

/** The VM run of one kernel; fails with the reason (and where the serial log is) when it did not finish. */
function vm(name: string, tag?: string): VmResult {
  const r = results.get(tag ? `${name} ${tag}` : name);
  if (r === undefined) {
    throw new Error(`kernel ${name}: the VM did not run`);
  }
  if (r instanceof Error) {
    throw r;
  }
  assert.ok(
    r.run.finished,
    `kernel ${name}: the VM did not finish (qemu exit ${r.boot.code} after ${r.boot.ms} ms); serial log ${serialLog(r.kernel, tag)}`
  );
  return r;
}

/** The scenario ran to its end inside the VM (no generator error). */
function scenario(name: string, s: string, tag?: string): VmResult {
  const r = vm(name, tag);
  assert.equal(
    r.run.done[s],
    'ok',
    `kernel ${name}: scenario ${s} did not complete: ${r.run.errors.join('; ')} (serial log ${serialLog(r.kernel, tag)})`
  );
  return r;
}

const client =
  (port: number, local = CLIENT, remote = SERVER) =>
  (f: KernelFlow) =>
    f.direction === 'client' && f.serverPort === port && f.localIp === local && f.remoteIp === remote;
const server =
  (port: number, local = SERVER, remote = CLIENT) =>
  (f: KernelFlow) =>
    f.direction === 'server' && f.serverPort === port && f.localIp === local && f.remoteIp === remote;

function totals(r: VmResult, pick: (f: KernelFlow) => boolean): FlowTotals {
  return sumCollects(r.run.collects, pick);
}

function truth(r: VmResult, s: string): Record<string, number> {
  const t = r.run.truth[s];
  assert.ok(t, `no ground truth for ${s}`);
  return t;
}

/**
 * Retransmits and rtos of a scenario's flows (server port `port`) at both ends equal each namespace's own
 * TcpRetransSegs / TCPTimeouts deltas; one assertion per number, so a failure names the one that differs.
 */
function assertLossCounters(t: TestContext, r: VmResult, s: string, port: number): LossComparison {
  const cmp = lossComparison(r.run, s, client(port), server(port));
  t.diagnostic(
    `${s}: agent client retransmits ${cmp.client.retransmits} rtos ${cmp.client.rtos}, server ${cmp.server.retransmits} / ` +
      `${cmp.server.rtos}; namespaces ${cmp.client.retransSegs} / ${cmp.client.timeouts} and ` +
      `${cmp.server.retransSegs} / ${cmp.server.timeouts}`
  );
  assert.equal(cmp.client.retransmits, cmp.client.retransSegs, 'client retransmits = its namespace RetransSegs');
  assert.equal(cmp.client.rtos, cmp.client.timeouts, 'client rtos = its namespace TCPTimeouts');
  assert.equal(cmp.server.retransmits, cmp.server.retransSegs, 'server retransmits = its namespace RetransSegs');
  assert.equal(cmp.server.rtos, cmp.server.timeouts, 'server rtos = its namespace TCPTimeouts');
  return cmp;
}

/** total_rto entered struct tcp_sock in Linux 6.7. */
function hasTotalRto(release: string): boolean {
  const [major = 0, minor = 0] = release.split(/[.-]/).map(Number);
  return major > 6 || (major === 6 && minor >= 7);
}

for (const { name } of KERNELS) {
  test(`${name}: the BPF programs load and CO-RE matches the kernel's tcp_sock (total_rto only where it exists; sock_ops only where it does not)`, (t) => {
    if (!ready(t)) {
      return;
    }
    const r = vm(name);
    t.diagnostic(`${r.run.kernel}: boot + scenarios ${r.boot.ms} ms; loader ${JSON.stringify(r.run.ready)}`);
    if (r.boot.retried.length > 0) {
      t.diagnostic(`boots retried after a crash before /init (qemu TCG): ${r.boot.retried.join(' | ')}`);
    }
    assert.ok(r.run.kernel?.startsWith(name + '.'), `booted ${r.run.kernel}`);
    assert.ok(r.run.ready, `the loader did not load: ${r.run.errors.join('; ')}\n${r.run.loaderStderr.join('\n')}`);
    assert.equal(r.run.ready.totalRto, hasTotalRto(r.kernel.release));
    // where total_rto exists no sock_ops program is loaded: fl_state registers connections (6.12 here; 6.1 keeps
    // sock_ops), and every scenario below holds on either path
    assert.equal(r.run.ready.connPath, hasTotalRto(r.kernel.release) ? 'state' : 'sockops');
    assert.deepEqual(
      r.run.errors.filter((e) => e.startsWith('loader') || e.startsWith('setup')),
      [],
      'the VM set up (modules, namespaces) and the loader reported no error'
    );
  });

  test(`${name}: a connection opened before the loader, then carrying 3,000,000 bytes, reports exactly 3,000,000 at both ends`, (t) => {
    if (!ready(t)) {
      return;
    }
    const r = scenario(name, 'preexisting');
    const g = truth(r, 'preexisting');
    assert.equal(g.clientSent, 3_000_000);
    assert.equal(g.serverReceived, 3_000_000 + g.clientSentBeforeLoader!);
    const c = totals(r, client(5001));
    const s = totals(r, server(5001));
    t.diagnostic(`client ${JSON.stringify(c)} server ${JSON.stringify(s)}`);
    assert.equal(c.bytesSent, 3_000_000);
    assert.equal(c.bytesReceived, 0);
    assert.equal(s.bytesReceived, 3_000_000);
    assert.equal(s.bytesSent, 0);
  });

  test(`${name}: an upload and a download held open report their bytes before they close`, (t) => {
    if (!ready(t)) {
      return;
    }
    const r = scenario(name, 'held');
    const g = truth(r, 'held-open');
    assert.equal(g.uploadServerReceived, 2_000_000);
    assert.equal(g.downloadClientReceived, 2_000_000);
    const open = collectsThrough(r.run, 'held', 'open');
    const uploadServer = sumCollects(open, server(5002));
    const uploadClient = sumCollects(open, client(5002));
    const downloadClient = sumCollects(open, client(5003));
    const downloadServer = sumCollects(open, server(5003));
    t.diagnostic(
      `while open: upload server received ${uploadServer.bytesReceived}, download client received ${downloadClient.bytesReceived}`
    );
    assert.equal(uploadServer.bytesReceived, 2_000_000, 'the receive-only upload server, while open');
    assert.equal(downloadClient.bytesReceived, 2_000_000, 'the receive-only download client, while open');
    assert.equal(uploadClient.bytesSent, 2_000_000, 'the uploading client, while open');
    assert.equal(downloadServer.bytesSent, 2_000_000, 'the downloading server, while open');
    // and nothing is counted twice once they close
    assert.equal(totals(r, server(5002)).bytesReceived, 2_000_000);
    assert.equal(totals(r, client(5003)).bytesReceived, 2_000_000);
    assert.equal(totals(r, client(5002)).bytesSent, 2_000_000);
    assert.equal(totals(r, server(5003)).bytesSent, 2_000_000);
  });

  test(`${name}: an IPv6 upload is exact at both ends`, (t) => {
    if (!ready(t)) {
      return;
    }
    const r = scenario(name, 'ipv6');
    const g = truth(r, 'ipv6');
    const c = totals(r, client(5004, CLIENT6, SERVER6));
    const s = totals(r, server(5004, SERVER6, CLIENT6));
    assert.equal(g.clientSent, 1_000_000);
    assert.equal(c.bytesSent, g.clientSent);
    assert.equal(c.bytesReceived, g.clientReceived);
    assert.equal(s.bytesReceived, g.serverReceived);
    assert.equal(s.bytesSent, g.serverSent);
    assert.equal(c.connectionsOpened, 1);
    assert.equal(s.connectionsClosed, 1);
  });

  test(`${name}: 3% loss at the receiver: exact bytes, retransmits and RTOs equal each namespace's own counters`, (t) => {
    if (!ready(t)) {
      return;
    }
    const r = scenario(name, 'loss');
    const g = truth(r, 'loss');
    const c = totals(r, client(5005));
    const s = totals(r, server(5005));
    assert.equal(c.bytesSent, g.clientSent);
    assert.equal(s.bytesReceived, g.serverReceived);
    const cmp = assertLossCounters(t, r, 'loss', 5005);
    assert.ok(
      cmp.client.retransSegs > 0,
      `3% loss must cause retransmits (namespace counted ${cmp.client.retransSegs})`
    );
  });

  test(`${name}: the client's SYN lost once: its SYN timeout and retransmit counted (rtos and retransmits equal each namespace's own, at least 1)`, (t) => {
    if (!ready(t)) {
      return;
    }
    const r = scenario(name, 'synloss');
    const g = truth(r, 'synloss');
    const cmp = assertLossCounters(t, r, 'synloss', 5012);
    assert.ok(cmp.client.timeouts >= 1, `the lost SYN must time out (namespace counted ${cmp.client.timeouts})`);
    assert.ok(cmp.client.retransSegs >= 1, `the lost SYN must be retransmitted (${cmp.client.retransSegs})`);
    assert.equal(totals(r, client(5012)).bytesSent, g.clientSent);
    assert.equal(totals(r, server(5012)).bytesReceived, g.serverReceived);
    assert.equal(totals(r, client(5012)).connectionsOpened, 1);
  });

  test(`${name}: the handshake's last ACK lost: the server's SYN-ACK timeout counted (rtos and retransmits equal each namespace's own, at least 1)`, (t) => {
    if (!ready(t)) {
      return;
    }
    const r = scenario(name, 'synacktimeout');
    const g = truth(r, 'synacktimeout');
    assert.deepEqual(
      r.run.loaderStderr.filter((l) => l.includes('fl_synack_timeout')),
      [],
      'the SYN-ACK timeout program loaded where the kernel lacks total_rto'
    );
    const cmp = assertLossCounters(t, r, 'synacktimeout', 5013);
    assert.ok(cmp.server.timeouts >= 1, `the SYN-ACK must time out (namespace counted ${cmp.server.timeouts})`);
    assert.ok(cmp.server.retransSegs >= 1, `the SYN-ACK must be retransmitted (${cmp.server.retransSegs})`);
    assert.equal(totals(r, client(5013)).bytesSent, g.clientSent);
    assert.equal(totals(r, server(5013)).bytesReceived, g.serverReceived);
    assert.equal(totals(r, server(5013)).connectionsOpened, 1);
  });

  test(`${name}: a Fast Open connection's last handshake ACK lost: the server socket's SYN-ACK timeout counted (rtos and retransmits equal each namespace's own, at least 1)`, (t) => {
    if (!ready(t)) {
      return;
    }
    const r = scenario(name, 'tfosynack');
    const g = truth(r, 'tfosynack');
    assert.deepEqual(
      r.run.loaderStderr.filter((l) => l.includes('fl_rto_timer')),
      [],
      'the retransmit timer program loaded where the kernel lacks total_rto'
    );
    const passive = counterDelta(r.run.counters.tfosynack!.server, 'TcpExt', 'TCPFastOpenPassive');
    assert.ok(passive >= 1, `Fast Open was not used (TCPFastOpenPassive ${passive})`);
    const cmp = assertLossCounters(t, r, 'tfosynack', 5015);
    assert.ok(cmp.server.timeouts >= 1, `the SYN-ACK must time out (namespace counted ${cmp.server.timeouts})`);
    assert.equal(totals(r, client(5015)).bytesSent, g.clientSent);
    assert.equal(totals(r, server(5015)).bytesReceived, g.serverReceived);
  });

  test(`${name}: a connection adopted at start, through a 1.5 s blackhole: its rtos and retransmits equal each namespace's own (at least 1)`, (t) => {
    if (!ready(t)) {
      return;
    }
    const r = scenario(name, 'adoptedrto');
    const g = truth(r, 'adoptedrto');
    assert.deepEqual(
      r.run.loaderStderr.filter((l) => l.includes('fl_rto_timer')),
      [],
      'the adopted-socket RTO program loaded where the kernel lacks total_rto'
    );
    const cmp = assertLossCounters(t, r, 'adoptedrto', 5014);
    assert.ok(
      cmp.client.timeouts >= 1,
      `the blackhole must cause a timeout (namespace counted ${cmp.client.timeouts})`
    );
    assert.equal(g.clientSent, 600_000);
    assert.equal(totals(r, client(5014)).bytesSent, 600_000, 'counted from adoption');
    assert.equal(totals(r, client(5014)).connectionsOpened, 0, 'adopted, not opened');
  });

  test(`${name}: a 1.5 s blackhole mid-transfer: rtos equal TCPTimeouts (at least 1), retransmits equal RetransSegs`, (t) => {
    if (!ready(t)) {
      return;
    }
    const r = scenario(name, 'blackhole');
    const g = truth(r, 'blackhole');
    const cn = tcpDelta(r.run.counters.blackhole!.client);
    const c = totals(r, client(5006));
    const s = totals(r, server(5006));
    t.diagnostic(`agent rtos ${c.rtos} retransmits ${c.retransmits}; namespace ${cn.timeouts} / ${cn.retransSegs}`);
    assert.ok(cn.timeouts >= 1, `the blackhole must cause a timeout (namespace counted ${cn.timeouts})`);
    assert.equal(c.rtos, cn.timeouts);
    assert.equal(c.retransmits, cn.retransSegs);
    assert.equal(c.bytesSent, g.clientSent);
    assert.equal(s.bytesReceived, g.serverReceived);
  });

  test(`${name}: 50 short connections: 50 opened and closed at each end, exact bytes`, (t) => {
    if (!ready(t)) {
      return;
    }
    const r = scenario(name, 'short');
    const g = truth(r, 'short');
    const c = totals(r, client(5007));
    const s = totals(r, server(5007));
    assert.equal(g.clientConnections, 50);
    assert.equal(g.clientSent, 50 * 1000 + (49 * 50) / 2);
    assert.equal(c.connectionsOpened, 50);
    assert.equal(c.connectionsClosed, 50);
    assert.equal(s.connectionsOpened, 50);
    assert.equal(s.connectionsClosed, 50);
    assert.equal(c.bytesSent, g.clientSent);
    assert.equal(c.bytesReceived, g.clientReceived);
    assert.equal(s.bytesReceived, g.serverReceived);
    assert.equal(s.bytesSent, g.serverSent);
    // the loader sums a tick's entries per flow before printing (flow_sum.h): one `flow` line per flow, every tick
    for (const col of r.run.collects) {
      assert.equal(col.result.stats.flowLines, col.result.flows.length, `${col.scenario}/${col.phase}: lines = flows`);
    }
  });

  test(`${name}: drops.bpf.o attaches (kfree_skb, tcp resets) with the kernel's reason names; 50 connects counted as 50 attempts, none failed`, (t) => {
    if (!ready(t)) {
      return;
    }
    const r = scenario(name, 'short');
    const stats = r.run.collects.map((c) => c.result.failureStats);
    t.diagnostic(`${r.run.kernel}: failstats ${JSON.stringify(stats.at(-1))}`);
    assert.ok(stats.length > 0 && stats.every((f) => f?.dropsAttached && f.resetsAttached), JSON.stringify(stats));
    assert.ok(
      stats.every((f) => (f?.reasons ?? 0) > 10),
      'reason names read from the kernel BTF'
    );
    const failures = r.run.collects.flatMap((c) => c.result.failures ?? []);
    const drops = failures
      .filter((f) => f.reason !== null)
      .map((f) => `${f.reason} ${f.localIp} ${f.direction} ${f.serverPort} ${f.drops}`);
    t.diagnostic(`drops seen in the VM's scenarios: ${JSON.stringify(drops)}`);
    // the loss scenario's injector drops at the receiver's (the server's) tc ingress: the server's flow, whose
    // packets they were, never the sending client's (veth leaves the client's socket in skb->sk)
    const lossDrops = failures.filter((f) => f.reason === 'TC_INGRESS' && f.serverPort === 5005);
    assert.ok(lossDrops.length > 0, 'the loss injector drops at tc ingress');
    assert.deepEqual(
      lossDrops.filter((f) => f.direction !== 'server' || f.localIp !== SERVER),
      [],
      'tc ingress drops belong to the receiving server flow'
    );
    const short = failures.filter(
      (f) => f.direction === 'client' && f.serverPort === 5007 && f.localIp === CLIENT && f.remoteIp === SERVER
    );
    const sum = (k: 'connectAttempts' | 'connectFailures' | 'resetsSent' | 'resetsReceived') =>
      short.reduce((n, f) => n + f[k], 0);
    assert.equal(sum('connectAttempts'), totals(r, client(5007)).connectionsOpened);
    assert.equal(sum('connectAttempts'), 50);
    assert.equal(sum('connectFailures'), 0);
    assert.equal(sum('resetsSent') + sum('resetsReceived'), 0);
  });

  test(`${name}: TCP Fast Open (data in the SYN) is counted once at each end`, (t) => {
    if (!ready(t)) {
      return;
    }
    const r = scenario(name, 'tfo');
    const g = truth(r, 'tfo');
    const k = r.run.counters.tfo!;
    const active = counterDelta(k.client, 'TcpExt', 'TCPFastOpenActive');
    const passive = counterDelta(k.server, 'TcpExt', 'TCPFastOpenPassive');
    assert.ok(active >= 1 && passive >= 1, `Fast Open was not used (active ${active}, passive ${passive})`);
    const c = totals(r, client(5008));
    const s = totals(r, server(5008));
    t.diagnostic(`TFO: ${active} active, ${passive} passive; agent client sent ${c.bytesSent} of ${g.clientSent}`);
    assert.equal(c.bytesSent, g.clientSent);
    assert.equal(s.bytesReceived, g.serverReceived);
    assert.equal(c.bytesReceived, g.clientReceived);
    assert.equal(s.bytesSent, g.serverSent);
  });

  test(`${name}: a Service address translated on the node (iptables DNAT, conntrack fentry): flows keyed by the real server, via = the Service`, (t) => {
    if (!ready(t)) {
      return;
    }
    const r = scenario(name, 'dnat');
    const g = truth(r, 'dnat');
    const dnat = r.run.collects.find((c) => c.scenario === 'dnat');
    assert.equal(dnat?.result.stats.conntrack, 'attached', 'the conntrack program attached');
    const viaService = (f: KernelFlow) => client(5009)(f) && f.via?.ip === '10.96.0.10' && f.via.port === 80;
    const c = totals(r, viaService);
    const s = totals(r, server(5009));
    t.diagnostic(`client via the Service ${JSON.stringify(c)}`);
    assert.equal(g.clientConnections, 5);
    assert.equal(c.connectionsOpened, 5);
    assert.equal(c.bytesSent, g.clientSent);
    assert.equal(c.bytesReceived, g.clientReceived);
    assert.equal(s.bytesReceived, g.serverReceived);
    assert.equal(s.bytesSent, g.serverSent);
    assert.equal(totals(r, (f) => f.remoteIp === '10.96.0.10').lines, 0, 'no flow keyed by the Service address');
    // The fentry program's forward tables (report `forwards`): each translated connection counted once, no SNAT.
    const forwards = r.run.collects
      .filter((col) => col.scenario === 'dnat')
      .flatMap((col) => col.result.forwards ?? []);
    t.diagnostic(`forwards ${JSON.stringify(forwards)}`);
    assert.ok(forwards.every((f) => f.via.ip === '10.96.0.10' && f.via.port === 80 && f.backendPort === 5009));
    assert.ok(forwards.every((f) => f.snatIp === null));
    assert.equal(
      forwards.reduce((n, f) => n + f.connections, 0),
      5,
      'one count per translated connection'
    );
  });

  test(`${name}: a connection through an IPVS ClusterIP opened before the loader is adopted on its real server (conntrack dump at adoption), exact`, (t) => {
    if (!ready(t)) {
      return;
    }
    const r = scenario(name, 'adoptipvs', NETLINK);
    const g = truth(r, 'adoptipvs');
    assert.equal(g.clientSent, 2_000_000);
    assert.equal(g.serverReceived, 2_000_000 + g.clientSentBeforeLoader!);
    const dump = r.run.loaderStderr.find((l) => l.includes('adoption:'));
    t.diagnostic(`loader: ${dump ?? r.run.loaderStderr.join(' | ')}`);
    assert.match(dump ?? '', /adoption: \d+ conntrack entries read in [\d.]+ ms, [1-9]\d* translated TCP connections/);
    const viaVip = (f: KernelFlow) => client(5012)(f) && f.via?.ip === '10.96.0.30' && f.via.port === 80;
    const c = totals(r, viaVip);
    const s = totals(r, server(5012));
    t.diagnostic(
      `ground truth ${JSON.stringify(g)}; client via the VIP ${JSON.stringify(c)}; server ${JSON.stringify(s)}`
    );
    assert.equal(c.bytesSent, g.clientSent, 'the adopted client flow, keyed by the real server, via the VIP');
    assert.equal(c.bytesReceived, g.serverSent);
    assert.equal(c.connectionsOpened, 0, 'adopted, not opened');
    assert.equal(s.bytesReceived, g.clientSent);
    assert.equal(totals(r, (f) => f.remoteIp === '10.96.0.30').lines, 0, 'no flow keyed by the virtual address');
  });

  for (const source of ['fentry', NETLINK] as const) {
    test(`${name}: a ClusterIP served by IPVS (NAT, vs.conntrack=1), translations from ${source === NETLINK ? 'conntrack netlink events' : 'the conntrack fentry program'}: flows keyed by the real backend each connection reached, via = the virtual service`, (t) => {
      if (!ready(t)) {
        return;
      }
      const r = scenario(name, 'ipvs', source === NETLINK ? NETLINK : undefined);
      const g = truth(r, 'ipvs');
      const at = r.run.collects.findIndex((c) => c.scenario === 'ipvs');
      const stats = r.run.collects[at]?.result.stats;
      const prior = r.run.collects[at - 1]?.result.stats;
      assert.ok(stats, 'a collect after the ipvs scenario');
      t.diagnostic(`source ${stats.natSource} (conntrack program ${stats.conntrack})`);
      assert.equal(stats.natSource, source);
      assert.equal(stats.conntrack, source === NETLINK ? 'failed' : 'attached');
      // the counters are cumulative: this scenario's share is the difference from the collect before it
      const recorded = (x: typeof stats | undefined) => (source === NETLINK ? x?.natNetlink : x?.natRecorded) ?? 0;
      assert.equal(recorded(stats) - recorded(prior), 6, 'one translation per connection');
      const viaVip = (port: number) => (f: KernelFlow) =>
        client(port)(f) && f.via?.ip === '10.96.0.20' && f.via.port === 80;
      const a = totals(r, viaVip(5010));
      const b = totals(r, viaVip(5011));
      const sa = totals(r, server(5010));
      const sb = totals(r, server(5011));
      t.diagnostic(`ground truth ${JSON.stringify(g)}`);
      t.diagnostic(`client via the VIP to 5010 ${JSON.stringify(a)}, to 5011 ${JSON.stringify(b)}`);
      assert.equal(g.clientConnections, 6);
      assert.equal(g.serverConnections, 3, 'round robin: three connections reached backend 5010');
      assert.equal(g.server2Connections, 3, 'round robin: three connections reached backend 5011');
      assert.equal(g.clientSent, g.serverReceived! + g.server2Received!);
      assert.equal(a.connectionsOpened, g.serverConnections);
      assert.equal(b.connectionsOpened, g.server2Connections);
      assert.equal(a.bytesSent, g.serverReceived);
      assert.equal(b.bytesSent, g.server2Received);
      assert.equal(a.bytesReceived, g.serverSent);
      assert.equal(b.bytesReceived, g.server2Sent);
      assert.equal(sa.bytesReceived, g.serverReceived);
      assert.equal(sb.bytesReceived, g.server2Received);
      assert.equal(totals(r, (f) => f.remoteIp === '10.96.0.20').lines, 0, 'no flow keyed by the virtual address');
      // the forward tables: each connection counted once, at the backend it reached, no source translation
      const forwards = r.run.collects
        .filter((col) => col.scenario === 'ipvs')
        .flatMap((col) => col.result.forwards ?? [])
        .filter((f) => f.via.ip === '10.96.0.20');
      t.diagnostic(`forwards ${JSON.stringify(forwards)}`);
      assert.ok(forwards.every((f) => f.via.port === 80 && f.backendIp === SERVER && f.snatIp === null));
      const reached = (port: number) =>
        forwards.filter((f) => f.backendPort === port).reduce((n, f) => n + f.connections, 0);
      assert.equal(reached(5010), g.serverConnections);
      assert.equal(reached(5011), g.server2Connections);
    });
  }
}
