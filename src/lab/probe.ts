/**
 * `lab probe`: the kernel's truth matrix. Real traffic from inside pod namespaces: every ordered
 * pod pair on every TCP/UDP port of the destination, ICMP echo, a full-size DF ICMP echo
 * (path-MTU probe), every pod → every Service ClusterIP:port, every pod → the external host, and
 * the external host → every NodePort on every node.
 *
 * One prober process per source namespace (probe.mjs, plain node) receives its probes on stdin;
 * the parent keeps at most `concurrency` probes in flight across all of them. A dropped TCP SYN
 * or UDP datagram costs the full timeout, so timeouts are short (1 s) and probes run in parallel.
 *
 * A TCP/UDP probe is `ok` only when the *intended* endpoint answered: the listener's banner names
 * the pod, so traffic delivered to the wrong pod (a duplicate IP) is a failure, and a Service
 * probe must be answered by one of its endpoints. ICMP cannot tell who answered.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { PROBE_FILE, writeLabScripts } from './scripts.js';
import { run } from './sh.js';
import type { LabState } from './state.js';

export type ProbeProtocol = 'TCP' | 'UDP' | 'ICMP';

export interface ProbeResult {
  /** `ns/pod`, or `external` for NodePort probes from the external host. */
  from: string;
  /** `ns/pod`, `svc:ns/name`, or `external`. */
  to: string;
  dstIp: string;
  port?: number;
  /** Named port at the destination (pod container port name, or Service port name). */
  portName?: string;
  protocol: ProbeProtocol;
  /** ICMP payload bytes of a full-size don't-fragment echo (path-MTU probe). */
  size?: number;
  ok: boolean;
  detail: string;
  /** Who answered (the listener's identity), TCP/UDP only. */
  servedBy?: string;
  /** The source address the listener saw (shows SNAT). */
  seenFrom?: string;
  ms: number;
}

export interface PlannedProbe {
  id: number;
  from: string;
  /** Network namespace the probe runs in. */
  netns: string;
  to: string;
  dstIp: string;
  port?: number;
  portName?: string;
  protocol: ProbeProtocol;
  size?: number;
  /** A full-size DF echo: `size` is set at run time from the source's eth0 MTU (− 28). */
  fullSize?: boolean;
  /** Identities that count as the right answer (TCP/UDP). */
  expect?: string[];
}

export interface LabProbeOptions {
  /** Probes in flight at once, over all sources (default 32). */
  concurrency?: number;
  /** Per-probe timeout (default 1000 ms). */
  timeoutMs?: number;
  /** Include the full-size DF ICMP probes (default true). */
  largePackets?: boolean;
  /** Only probes for which this returns true. */
  filter?: (p: PlannedProbe) => boolean;
}

/** The probes `labProbe` runs, in a stable order. */
export function planProbes(state: LabState, opts: LabProbeOptions = {}): PlannedProbe[] {
  const t = state.topology;
  const pods = t.pods;
  const out: PlannedProbe[] = [];
  let id = 0;
  const add = (p: Omit<PlannedProbe, 'id'>) => out.push({ id: id++, ...p });
  const largeSize = t.podMtu - 28;
  for (const src of pods) {
    for (const dst of pods) {
      if (dst === src) continue;
      for (const port of dst.ports) {
        add({ from: src.key, netns: src.netns, to: dst.key, dstIp: dst.ip, port: port.containerPort, ...(port.name ? { portName: port.name } : {}), protocol: port.protocol, expect: [dst.key] });
      }
      add({ from: src.key, netns: src.netns, to: dst.key, dstIp: dst.ip, protocol: 'ICMP' });
      if (opts.largePackets !== false) add({ from: src.key, netns: src.netns, to: dst.key, dstIp: dst.ip, protocol: 'ICMP', size: largeSize, fullSize: true });
    }
    for (const svc of t.services) {
      for (const sp of svc.ports) {
        add({
          from: src.key,
          netns: src.netns,
          to: `svc:${svc.key}`,
          dstIp: svc.clusterIP,
          port: sp.port,
          ...(sp.name ? { portName: sp.name } : {}),
          protocol: sp.protocol,
          expect: sp.endpoints.map((e) => e.pod),
        });
      }
    }
    for (const port of t.external.ports) {
      add({ from: src.key, netns: src.netns, to: 'external', dstIp: t.external.ip, port: port.containerPort, ...(port.name ? { portName: port.name } : {}), protocol: port.protocol, expect: ['external'] });
    }
    add({ from: src.key, netns: src.netns, to: 'external', dstIp: t.external.ip, protocol: 'ICMP' });
  }
  for (const svc of t.services) {
    for (const sp of svc.ports) {
      if (sp.nodePort === undefined) continue;
      for (const node of t.nodes) {
        add({
          from: 'external',
          netns: t.external.ns,
          to: `svc:${svc.key}`,
          dstIp: node.ip,
          port: sp.nodePort,
          ...(sp.name ? { portName: sp.name } : {}),
          protocol: sp.protocol,
          expect: sp.endpoints.map((e) => e.pod),
        });
      }
    }
  }
  return opts.filter ? out.filter(opts.filter) : out;
}

interface RawResult {
  id: number;
  connected?: boolean;
  servedBy?: string;
  seenFrom?: string;
  error?: string;
  ms: number;
}

function judge(p: PlannedProbe, r: RawResult): ProbeResult {
  const base: ProbeResult = {
    from: p.from,
    to: p.to,
    dstIp: p.dstIp,
    ...(p.port !== undefined ? { port: p.port } : {}),
    ...(p.portName ? { portName: p.portName } : {}),
    protocol: p.protocol,
    ...(p.size ? { size: p.size } : {}),
    ok: false,
    detail: '',
    ...(r.servedBy ? { servedBy: r.servedBy } : {}),
    ...(r.seenFrom ? { seenFrom: r.seenFrom } : {}),
    ms: r.ms,
  };
  if (p.protocol === 'ICMP') {
    base.ok = r.connected === true;
    base.detail = base.ok ? (p.size ? `echo reply (${p.size + 28}-byte DF packet)` : 'echo reply') : (r.error ?? 'no reply');
    return base;
  }
  if (r.servedBy) {
    const right = !p.expect || p.expect.includes(r.servedBy);
    base.ok = right;
    base.detail = right ? `answered by ${r.servedBy}${r.seenFrom ? ` (saw source ${r.seenFrom})` : ''}` : `answered by the wrong endpoint ${r.servedBy} (expected ${p.expect!.join(' or ')})`;
    return base;
  }
  const err = r.error ?? 'no answer';
  base.detail =
    err === 'timeout'
      ? p.protocol === 'TCP'
        ? 'timeout (no SYN-ACK)'
        : 'timeout (no reply)'
      : err === 'ECONNREFUSED'
        ? p.protocol === 'TCP'
          ? 'connection refused (RST)'
          : 'port unreachable (ICMP)'
        : err === 'EHOSTUNREACH'
          ? 'host unreachable (ICMP)'
          : err === 'ENETUNREACH'
            ? 'network unreachable'
            : err;
  return base;
}

/** Runs the probe matrix. Results come back in plan order. */
export async function labProbe(state: LabState, opts: LabProbeOptions = {}): Promise<ProbeResult[]> {
  const plan = planProbes(state, opts);
  return runProbes(state, plan, opts);
}

/** Runs the given planned probes (see planProbes). */
export async function runProbes(state: LabState, planned: PlannedProbe[], opts: LabProbeOptions = {}): Promise<ProbeResult[]> {
  let plan = planned;
  if (plan.length === 0) return [];
  const concurrency = Math.max(1, opts.concurrency ?? 32);
  const timeoutMs = opts.timeoutMs ?? 1000;
  await writeLabScripts(state.stateDir);
  const script = path.join(state.stateDir, PROBE_FILE);
  const sources = [...new Set(plan.map((p) => p.netns))];
  // Cached path-MTU exceptions from an earlier run would make a DF probe fail locally; each run
  // measures the path as it is now.
  await Promise.all(sources.map((ns) => run('ip', ['-n', ns, 'route', 'flush', 'cache'], { allowFail: true })));
  // Full-size probes are as large as the source's interface allows (what an application sends).
  const mtus = new Map<string, number>();
  await Promise.all(
    sources.map(async (ns) => {
      const r = await run('ip', ['-n', ns, '-j', 'link', 'show', 'eth0'], { allowFail: true });
      const mtu = (JSON.parse(r.stdout || '[]') as Array<{ mtu?: number }>)[0]?.mtu;
      if (mtu) mtus.set(ns, mtu);
    }),
  );
  plan = plan.map((p) => (p.fullSize && mtus.has(p.netns) ? { ...p, size: mtus.get(p.netns)! - 28 } : p));

  const byId = new Map(plan.map((p) => [p.id, p]));
  const results = new Map<number, ProbeResult>();
  const children = new Map<string, ChildProcessWithoutNullStreams>();
  const waiting = new Map<number, () => void>();
  const exited: Promise<void>[] = [];
  for (const ns of sources) {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, script], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.set(ns, child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 2000) stderr += d.toString('utf8');
    });
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      let r: RawResult;
      try {
        r = JSON.parse(line) as RawResult;
      } catch {
        return;
      }
      const p = byId.get(r.id);
      if (!p || results.has(r.id)) return;
      results.set(r.id, judge(p, r));
      waiting.get(r.id)?.();
    });
    exited.push(
      new Promise<void>((resolve) =>
        child.on('close', () => {
          // A prober that died leaves its probes unanswered: fail them rather than hang.
          for (const p of plan) {
            if (p.netns === ns && !results.has(p.id)) {
              results.set(p.id, judge(p, { id: p.id, error: `prober exited${stderr ? `: ${stderr.trim().split('\n').pop()}` : ''}`, ms: 0 }));
              waiting.get(p.id)?.();
            }
          }
          resolve();
        }),
      ),
    );
  }

  // Round-robin over sources so every prober starts at once.
  const queues = sources.map((ns) => plan.filter((p) => p.netns === ns));
  const order: PlannedProbe[] = [];
  for (let i = 0; queues.some((q) => i < q.length); i++) for (const q of queues) if (i < q.length) order.push(q[i]);

  let next = 0;
  const worker = async () => {
    while (next < order.length) {
      const p = order[next++];
      await new Promise<void>((resolve) => {
        if (results.has(p.id)) return resolve();
        waiting.set(p.id, resolve);
        const msg = { id: p.id, kind: p.protocol.toLowerCase(), ip: p.dstIp, port: p.port, size: p.size, timeoutMs };
        children.get(p.netns)!.stdin.write(`${JSON.stringify(msg)}\n`);
      });
      waiting.delete(p.id);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, order.length) }, worker));
  for (const c of children.values()) c.stdin.end();
  await Promise.all(exited);
  return plan.map((p) => results.get(p.id)!);
}

/** A stable key of a probe (for comparing runs): `from>to proto/port[/size]`. */
export function probeKey(r: Pick<ProbeResult, 'from' | 'to' | 'protocol' | 'port' | 'size' | 'dstIp'>): string {
  return `${r.from}>${r.to}@${r.dstIp} ${r.protocol}${r.port !== undefined ? `/${r.port}` : ''}${r.size ? '/full-size' : ''}`;
}

export interface ProbeSummary {
  flows: number;
  ok: number;
  failed: number;
  byProtocol: Record<ProbeProtocol, { ok: number; failed: number }>;
}

export function summarizeProbes(results: ProbeResult[]): ProbeSummary {
  const s: ProbeSummary = { flows: results.length, ok: 0, failed: 0, byProtocol: { TCP: { ok: 0, failed: 0 }, UDP: { ok: 0, failed: 0 }, ICMP: { ok: 0, failed: 0 } } };
  for (const r of results) {
    if (r.ok) s.ok++;
    else s.failed++;
    s.byProtocol[r.protocol][r.ok ? 'ok' : 'failed']++;
  }
  return s;
}

/** One line per probe: `ok   frontend/web-1 -> backend/api-2 TCP/8080 (http): answered by …`. */
export function formatProbeResults(results: ProbeResult[]): string {
  return results
    .map((r) => `${r.ok ? 'ok  ' : 'FAIL'} ${r.from} -> ${r.to} ${r.dstIp} ${r.protocol}${r.port !== undefined ? `/${r.port}` : ''}${r.size ? ` ${r.size + 28}B DF` : ''}${r.portName ? ` (${r.portName})` : ''}: ${r.detail}`)
    .join('\n');
}

