/**
 * Where bench:agent's ratio windows run (BENCH_CPU). On this 2-vCPU machine a one-connection-at-a-time generator is
 * bimodal by placement alone: crr with both ends on one CPU made about 14,000 connections/s, with its ends on two
 * CPUs about 5,500 (a cross-CPU wakeup per step, and the socket lock taken by a softirq on one CPU while the other
 * holds it: paravirtual spinlocks), whatever the agent did. Left to the scheduler, a side landed in either mode, and
 * the with-agent side's profile could show a quarter of its time in spinlock slow paths where the side without it
 * showed none: the ratio then measured the scheduler. iperf3 (one thread per end in Debian's 3.12) is bimodal the
 * same way.
 *
 * So by default the generators, their servers and the agent all run on one CPU (`taskset`), and the bench's own
 * process on the others: every side has the same placement, and whatever the agent spends in the window (its BPF,
 * its tick, its reports, the kernel's work for it) is taken from that one CPU's traffic, in full. BENCH_CPU=none
 * leaves placement to the scheduler (the bench before 2 December).
 */
export interface Placement {
  /** Prefix for every generator, server and the ratio sides' agent (`taskset -c N`), or none. */
  pin: string[];
  /** CPU list for the bench's own process (the others), or null when it stays where it is. */
  benchCpus: string | null;
  /** What the JSON says. */
  description: string;
}

/** The placement for `spec` (BENCH_CPU: a CPU number, or `none`) on a machine with `cpus` online CPUs (0..n-1). */
export function placementOf(spec: string | undefined, cpus: number): Placement {
  const s = (spec ?? '0').trim();
  if (s === 'none') {
    return { pin: [], benchCpus: null, description: 'unpinned (the scheduler places every process)' };
  }
  if (!/^\d+$/.test(s) || Number(s) >= cpus) {
    throw new Error(`BENCH_CPU: expected a CPU number below ${cpus} or 'none', got '${s}'`);
  }
  const cpu = Number(s);
  const others = Array.from({ length: cpus }, (_, i) => i).filter((i) => i !== cpu);
  return {
    pin: ['taskset', '-c', String(cpu)],
    benchCpus: others.length > 0 ? others.join(',') : null,
    description:
      `generators, servers and agent on CPU ${cpu}` +
      (others.length > 0 ? `, the bench on CPU ${others.join(',')}` : ' (the only CPU: the bench too)'),
  };
}
