/**
 * Reading an iperf3 client's JSON result (`iperf3 -c … -J`) for bench:agent: the throughput the server received,
 * and where the client and the server ran.
 *
 * Debian's iperf3 (3.12) is one thread per process, so a 1-stream run is two busy threads: the client (whose
 * system time includes the receive path's softirq, which veth runs on the sender's CPU) and the server (the copy to
 * user space). On this 2-vCPU machine the scheduler sometimes puts both on one CPU, and the run is then about a
 * quarter slower (docs/agent.md "Benchmark", placement). iperf3 reports each end's CPU use in percent of one CPU over
 * the run: two ends on one CPU cannot add up to much more than 100 %, two ends on two CPUs did here 113 to 127 %.
 * The sum tells which way a run went, with nothing added to the run.
 */

export interface IperfResult {
  gbps: number;
  /** The client's and the server's CPU use over the run, percent of one CPU each (iperf3's host_total, remote_total). */
  clientCpuPct: number;
  serverCpuPct: number;
}

interface IperfJson {
  end: {
    sum_received: { bits_per_second: number };
    cpu_utilization_percent?: { host_total: number; remote_total: number };
  };
}

export function parseIperf(json: string): IperfResult {
  const r = JSON.parse(json) as IperfJson;
  const bps = r.end?.sum_received?.bits_per_second;
  if (typeof bps !== 'number') {
    throw new Error(`not an iperf3 client result: ${json.slice(0, 200)}`);
  }
  const cpu = r.end.cpu_utilization_percent;
  return { gbps: bps / 1e9, clientCpuPct: cpu?.host_total ?? NaN, serverCpuPct: cpu?.remote_total ?? NaN };
}

/**
 * At or under this sum of the two ends' CPU percentages, they shared one CPU for (most of) the run. Measured here
 * (48 runs): 89–105 % on one CPU (10.4–15.2 Gbit/s), 113–127 % on two (14.6–19.4 Gbit/s); runs that moved between
 * the two ways summed 106–110 %. A low sum also comes from two ends crowded by other work, which is as much not the
 * agent's doing.
 */
export const SHARED_CPU_MAX_PCT = 105;

/** Whether a 1-stream run's client and server ran on one CPU for (most of) the run; null when iperf3 said nothing. */
export function sharedOneCpu(r: IperfResult): boolean | null {
  const sum = r.clientCpuPct + r.serverCpuPct;
  return Number.isFinite(sum) ? sum <= SHARED_CPU_MAX_PCT : null;
}
