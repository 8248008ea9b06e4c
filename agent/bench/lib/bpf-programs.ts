/**
 * Which BPF programs an agent has loaded, and what the kernel's bpf_stats say they cost.
 *
 * Programs are found from the agent's own file descriptors (/proc/PID/fdinfo: a program fd shows `prog_id`, a
 * link fd shows `link_type` and `prog_id`), so other people's programs on this shared machine never count. A
 * program reached through an `iter` link runs when the agent reads the iterator, i.e. once per collection tick
 * (per socket visited); every other program runs on a kernel event (a packet, an ACK, a connection state change).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ProgramInfo {
  id: number;
  name: string;
  type: string;
  /** Link types the program is attached through (`iter`, `cgroup`, `tracing`, …); empty when only its fd is held. */
  links: string[];
  /** Runs when the agent reads an iterator (once per tick), not on a kernel event. */
  perTick: boolean;
}

export interface ProgramStats {
  runCnt: number;
  runTimeNs: number;
}

/** The process and its descendants (the loader is a child of the node process). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i]!;
    try {
      for (const tid of readdirSync(`/proc/${p}/task`)) {
        const kids = readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8').trim();
        if (kids) {
          out.push(...kids.split(/\s+/).map(Number));
        }
      }
    } catch {
      /* exited */
    }
  }
  return out;
}

/** prog_id → link types, from the fdinfo of every fd the processes hold. */
export function heldPrograms(pids: number[]): Map<number, Set<string>> {
  const progs = new Map<number, Set<string>>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fdinfo`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let info = '';
      try {
        info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
      } catch {
        continue;
      }
      const prog = /^prog_id:\s+(\d+)/m.exec(info);
      if (!prog) {
        continue;
      }
      const id = Number(prog[1]);
      const links = progs.get(id) ?? new Set<string>();
      const link = /^link_type:\s+(\S+)/m.exec(info);
      if (link) {
        links.add(link[1]!);
      }
      progs.set(id, links);
    }
  }
  return progs;
}

interface BpftoolProg {
  id: number;
  name?: string;
  type?: string;
  run_time_ns?: number;
  run_cnt?: number;
}

async function bpftoolProgs(): Promise<Map<number, BpftoolProg>> {
  const { stdout } = await run('bpftool', ['-j', 'prog', 'show'], { maxBuffer: 64 << 20 });
  return new Map((JSON.parse(stdout) as BpftoolProg[]).map((p) => [p.id, p]));
}

/** The agent's programs (node process and loader). */
export async function agentPrograms(pid: number): Promise<ProgramInfo[]> {
  const held = heldPrograms(processTree(pid));
  const all = await bpftoolProgs();
  return [...held.entries()]
    .filter(([id]) => all.has(id))
    .map(([id, links]) => {
      const p = all.get(id)!;
      return {
        id,
        name: p.name ?? `prog${id}`,
        type: p.type ?? 'unknown',
        links: [...links],
        perTick: links.has('iter'),
      };
    })
    .sort((a, b) => a.id - b.id);
}

export async function programStats(ids: number[]): Promise<Map<number, ProgramStats>> {
  const all = await bpftoolProgs();
  const out = new Map<number, ProgramStats>();
  for (const id of ids) {
    const p = all.get(id);
    out.set(id, { runCnt: p?.run_cnt ?? 0, runTimeNs: p?.run_time_ns ?? 0 });
  }
  return out;
}

export function statsDelta(a: Map<number, ProgramStats>, b: Map<number, ProgramStats>): Map<number, ProgramStats> {
  const out = new Map<number, ProgramStats>();
  for (const [id, s] of b) {
    const s0 = a.get(id) ?? { runCnt: 0, runTimeNs: 0 };
    out.set(id, { runCnt: s.runCnt - s0.runCnt, runTimeNs: s.runTimeNs - s0.runTimeNs });
  }
  return out;
}
