/**
 * Reads what flowlens-vm-scenarios (scenarios.c) printed on a VM's serial console: the loader's own lines, parsed
 * with the one loader protocol parser (agent/src/bpf/protocol.ts), and the namespaces' /proc/net counters, parsed
 * with the kernel suite's counter reader. Pure: the serial text in, the scenarios' results out.
 */
import {
  CollectParser,
  parseReady,
  type CollectResult,
  type KernelFlow,
  type LoaderReady,
} from '../../src/bpf/protocol.js';
import { COUNTER_NAMES, type FlowCounters } from '../../src/contracts/report.js';
import {
  diffCounters,
  parseProcNetCounters,
  tcpCountersOf,
  type CounterTable,
  type TcpCounters,
} from '../lib/tcp-counters.js';

export interface Collect {
  scenario: string;
  phase: string;
  result: CollectResult;
}

export interface SideCounters {
  /** The namespace's whole /proc/net/snmp and /proc/net/netstat tables. */
  before: CounterTable;
  after: CounterTable;
}

export interface VmRun {
  kernel: string | null;
  ready: LoaderReady | null;
  collects: Collect[];
  truth: Record<string, Record<string, number>>;
  counters: Record<string, { client: SideCounters; server: SideCounters }>;
  /** Scenario name -> "ok" or "error" as the scenario program ended it. */
  done: Record<string, string>;
  errors: string[];
  loaderStderr: string[];
  finished: boolean;
}

const PREFIX = 'FLVM ';

export function parseVmOutput(serial: string): VmRun {
  const run: VmRun = {
    kernel: null,
    ready: null,
    collects: [],
    truth: {},
    counters: {},
    done: {},
    errors: [],
    loaderStderr: [],
    finished: false,
  };
  const proc: Record<string, string[]> = {}; // "scenario side when" -> lines
  let current: { scenario: string; phase: string; parser: CollectParser } | null = null;
  for (const raw of serial.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const at = line.indexOf(PREFIX);
    if (at < 0) {
      continue;
    }
    const body = line.slice(at + PREFIX.length);
    const space = body.indexOf(' ');
    const kind = space < 0 ? body : body.slice(0, space);
    const rest = space < 0 ? '' : body.slice(space + 1);
    switch (kind) {
      case 'kernel':
        run.kernel = rest;
        break;
      case 'loader':
        if (rest.startsWith('ready')) {
          try {
            run.ready = parseReady(rest);
          } catch (e) {
            run.errors.push((e as Error).message);
          }
        } else if (rest.startsWith('error')) {
          run.errors.push(`loader: ${rest}`);
          current = null;
        } else if (current) {
          const { scenario, phase, parser } = current;
          try {
            const result = parser.push(rest);
            if (result) {
              run.collects.push({ scenario, phase, result });
              current = null;
            }
          } catch (e) {
            run.errors.push(`${scenario}/${phase}: ${(e as Error).message}`);
            current = null;
          }
        }
        break;
      case 'collect': {
        const [scenario = '', phase = ''] = rest.split(' ');
        current = { scenario, phase, parser: new CollectParser() };
        break;
      }
      case 'proc': {
        const m = /^(\S+) (client|server) (before|after) (.*)$/.exec(rest);
        if (m) {
          (proc[`${m[1]} ${m[2]} ${m[3]}`] ??= []).push(m[4]!);
        }
        break;
      }
      case 'truth': {
        const sp = rest.indexOf(' ');
        run.truth[rest.slice(0, sp)] = JSON.parse(rest.slice(sp + 1)) as Record<string, number>;
        break;
      }
      case 'done': {
        const [scenario = '', status = ''] = rest.split(' ');
        run.done[scenario] = status;
        break;
      }
      case 'error':
        run.errors.push(rest);
        break;
      case 'stderr':
        run.loaderStderr.push(rest);
        break;
      case 'finished':
        run.finished = true;
        break;
    }
  }
  for (const [key, lines] of Object.entries(proc)) {
    const [scenario, side, when] = key.split(' ') as [string, 'client' | 'server', 'before' | 'after'];
    const table = parseProcNetCounters(lines.join('\n'));
    const entry = (run.counters[scenario] ??= {
      client: { before: {}, after: {} },
      server: { before: {}, after: {} },
    });
    entry[side][when] = { ...entry[side][when], ...table };
  }
  return run;
}

/** The change of one TcpExt / Tcp counter in a namespace over a scenario. */
export function counterDelta(side: SideCounters, group: 'Tcp' | 'TcpExt', name: string): number {
  const after = side.after[group]?.[name];
  const before = side.before[group]?.[name];
  if (after === undefined || before === undefined) {
    throw new Error(`counter ${group}.${name} missing`);
  }
  return after - before;
}

/** The kernel suite's TCP counters (RetransSegs, TCPTimeouts, …) changed over a scenario, in one namespace. */
export function tcpDelta(side: SideCounters): TcpCounters {
  return diffCounters(tcpCountersOf(side.after, side.after), tcpCountersOf(side.before, side.before));
}

export interface FlowTotals extends FlowCounters {
  /** How many flow lines were summed. */
  lines: number;
}

/** Sums the counters of every flow line matching `pick` over the given collects (each line is a delta). */
export function sumCollects(collects: Collect[], pick: (f: KernelFlow) => boolean): FlowTotals {
  const total = { lines: 0 } as FlowTotals;
  for (const name of COUNTER_NAMES) {
    total[name] = 0;
  }
  for (const c of collects) {
    for (const f of c.result.flows.filter(pick)) {
      total.lines++;
      for (const name of COUNTER_NAMES) {
        total[name] += f[name];
      }
    }
  }
  return total;
}

/** The collects of a run up to and including the first one of `scenario`/`phase`. */
export function collectsThrough(run: VmRun, scenario: string, phase: string): Collect[] {
  const at = run.collects.findIndex((c) => c.scenario === scenario && c.phase === phase);
  if (at < 0) {
    throw new Error(`no collect ${scenario}/${phase} in the VM's output`);
  }
  return run.collects.slice(0, at + 1);
}

/**
 * The kernel died before /init ran (no "FLVM kernel" line, an oops or panic on the console): the guest never reached
 * anything under test, so such a boot is retried (an emulator fault, see QEMU_CPU in vm.ts); a crash after /init
 * started is never retried.
 */
export function crashedBeforeInit(serial: string): string | null {
  if (serial.includes(`${PREFIX}kernel `)) {
    return null;
  }
  const m = /(BUG:[^\r\n]*|Oops:[^\r\n]*|Kernel panic[^\r\n]*)/.exec(serial);
  return m ? m[1]!.trim() : null;
}

/** One end of a connection: the agent's retransmits and rtos beside its namespace's TcpRetransSegs / TCPTimeouts. */
export interface LossSide {
  retransmits: number;
  rtos: number;
  retransSegs: number;
  timeouts: number;
}

export interface LossComparison {
  client: LossSide;
  server: LossSide;
  /** Both ends' agent counters equal their namespace's. */
  equal: boolean;
}

/**
 * What every loss scenario checks (3% loss, the handshake's timeouts): at each end, the agent's retransmits and
 * rtos of the scenario's flows (summed over the whole run) against that namespace's own counter deltas.
 */
export function lossComparison(
  run: VmRun,
  scenario: string,
  client: (f: KernelFlow) => boolean,
  server: (f: KernelFlow) => boolean
): LossComparison {
  const k = run.counters[scenario];
  if (!k) {
    throw new Error(`no namespace counters for ${scenario}`);
  }
  const side = (pick: (f: KernelFlow) => boolean, counters: SideCounters): LossSide => {
    const a = sumCollects(run.collects, pick);
    const n = tcpDelta(counters);
    return { retransmits: a.retransmits, rtos: a.rtos, retransSegs: n.retransSegs, timeouts: n.timeouts };
  };
  const c = side(client, k.client);
  const s = side(server, k.server);
  const same = (x: LossSide) => x.retransmits === x.retransSegs && x.rtos === x.timeouts;
  return { client: c, server: s, equal: same(c) && same(s) };
}
