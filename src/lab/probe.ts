/**
 * `lab probe`: the kernel's truth matrix. Real traffic from inside pod namespaces: every ordered
 * pod pair on every TCP/UDP port of the destination, ICMP echo, a full-size DF ICMP echo
 * (path-MTU probe), every pod → every Service ClusterIP:port, every pod → the external host, and
 * the external host → every NodePort on every node.
 *
 * Probes are run by the agent living in the source's namespace (scripts.ts), reached over its
 * Unix control socket; the caller keeps at most `concurrency` probes in flight across all
 * sources. A dropped TCP SYN or UDP datagram costs the full timeout, so timeouts are short (1 s)
 * and probes run in parallel.
 *
 * A TCP/UDP probe is `ok` only when the *intended* endpoint answered: the listener's banner names
 * the pod, so traffic delivered to the wrong pod (a duplicate IP) is a failure, and a Service
 * probe must be answered by one of its endpoints. ICMP cannot tell who answered.
 */
import net from 'node:net';
import readline from 'node:readline';
import { agentControlSocket } from './scripts.js';
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
  if (planned.length === 0) return [];
  const concurrency = Math.max(1, opts.concurrency ?? 32);
  const timeoutMs = opts.timeoutMs ?? 1000;
  const sources = [...new Set(planned.map((p) => p.netns))];
  const agents = new Map<string, AgentConnection>();
  try {
    await Promise.all(sources.map(async (ns) => agents.set(ns, await AgentConnection.open(agentControlSocket(state.stateDir, ns)))));
    // Each run measures paths as they are now (no cached path MTU in the source), and full-size
    // probes are as large as the source's interface allows (what an application would send).
    const mtus = new Map<string, number>();
    await Promise.all(
      sources.map(async (ns) => {
        const r = await agents.get(ns)!.request({ kind: 'prepare' });
        if (typeof r.mtu === 'number' && r.mtu > 0) mtus.set(ns, r.mtu);
      }),
    );
    const plan = planned.map((p) => (p.fullSize && mtus.has(p.netns) ? { ...p, size: mtus.get(p.netns)! - 28 } : p));

    // Round-robin over sources so every source starts at once.
    const queues = sources.map((ns) => plan.filter((p) => p.netns === ns));
    const order: PlannedProbe[] = [];
    for (let i = 0; queues.some((q) => i < q.length); i++) for (const q of queues) if (i < q.length) order.push(q[i]);
    const results = new Map<number, ProbeResult>();
    let next = 0;
    const worker = async () => {
      while (next < order.length) {
        const p = order[next++];
        const raw = await agents.get(p.netns)!.request({ kind: p.protocol.toLowerCase(), ip: p.dstIp, port: p.port, size: p.size, timeoutMs });
        results.set(p.id, judge(p, { ...raw, id: p.id }));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, order.length) }, worker));
    return plan.map((p) => results.get(p.id)!);
  } finally {
    for (const a of agents.values()) a.close();
  }
}

/** One Unix-socket connection to an agent; requests are matched to answers by id. */
class AgentConnection {
  private seq = 0;
  private readonly waiting = new Map<number, (r: RawResult & { mtu?: number }) => void>();
  private closedWith: string | undefined;

  private constructor(private readonly sock: net.Socket) {
    readline.createInterface({ input: sock }).on('line', (line) => {
      let r: RawResult & { mtu?: number };
      try {
        r = JSON.parse(line) as RawResult & { mtu?: number };
      } catch {
        return;
      }
      const done = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      done?.(r);
    });
    const onGone = (why: string) => {
      this.closedWith ??= why;
      for (const [id, done] of this.waiting) done({ id, error: `prober unavailable: ${why}`, ms: 0 });
      this.waiting.clear();
    };
    sock.on('error', (e) => onGone(e.message));
    sock.on('close', () => onGone('connection closed'));
  }

  static open(socketPath: string): Promise<AgentConnection> {
    return new Promise((resolve) => {
      const sock = net.connect(socketPath);
      const conn = new AgentConnection(sock);
      sock.once('connect', () => resolve(conn));
      // A dead agent: every request on this connection fails with the reason.
      sock.once('error', () => resolve(conn));
    });
  }

  request(msg: Record<string, unknown>): Promise<RawResult & { mtu?: number }> {
    const id = ++this.seq;
    if (this.closedWith) return Promise.resolve({ id, error: `prober unavailable: ${this.closedWith}`, ms: 0 });
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.sock.write(`${JSON.stringify({ ...msg, id })}\n`);
    });
  }

  close(): void {
    this.sock.destroy();
  }
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

