/** Shared steps of the root lab tests (one lab per mode, reused across fault tests). */
import { expect } from 'vitest';
import { run } from '../../src/lab/sh.js';
import { labBreak, labFix } from '../../src/lab/faults.js';
import { labProbe, summarizeProbes, type ProbeResult } from '../../src/lab/probe.js';
import { clusterResources } from '../../src/lab/collect.js';
import type { LabState } from '../../src/lab/state.js';
import { expectedFailures, mismatches } from './expectations.js';

/** Probe settings for tests: many probes in flight, since dropped probes each cost the timeout. */
export const PROBE_OPTS = { concurrency: 64, timeoutMs: 1000 } as const;

export interface FaultRun {
  id: string;
  breakMs: number;
  probeMs: number;
  flows: number;
  failed: number;
}

/** break → probe (exactly the expected flows fail) → fix → probe (baseline again). */
export async function faultCycle(state: LabState, id: string): Promise<FaultRun> {
  const t0 = Date.now();
  const fault = await labBreak(state, id);
  const breakMs = Date.now() - t0;
  if (id === 'ipam-leak') {
    // Only the cluster resources change.
    const blocks = clusterResources(state)['ipamblocks.crd.projectcalico.org.yaml'];
    const attrs = blocks.flatMap((b) => (b.spec as { attributes: Array<{ secondary: { pod?: string } }> }).attributes);
    expect(attrs.some((a) => a.secondary.pod?.startsWith('ghost-'))).toBe(true);
    await labFix(state, id);
    const after = clusterResources(state)['ipamblocks.crd.projectcalico.org.yaml'].flatMap((b) => (b.spec as { attributes: Array<{ secondary: { pod?: string } }> }).attributes);
    expect(after.some((a) => a.secondary.pod?.startsWith('ghost-'))).toBe(false);
    return { id, breakMs, probeMs: 0, flows: 0, failed: 0 };
  }
  const t1 = Date.now();
  const broken = await labProbe(state, PROBE_OPTS);
  const probeMs = Date.now() - t1;
  const failed = broken.filter((r) => !r.ok).length;
  expect(expectedFailures(state, fault, broken), `${id}: the expectation must predict failures`).toBeGreaterThan(0);
  expect(mismatches(state, fault, broken), `${id}: probes that contradict the fault's expected effect`).toEqual([]);
  await labFix(state, id);
  expect(state.faults[id]).toBeUndefined();
  const fixed = await labProbe(state, PROBE_OPTS);
  expect(failingLines(fixed), `${id}: after fix the matrix must be back to baseline`).toEqual([]);
  return { id, breakMs, probeMs, flows: broken.length, failed };
}

export function failingLines(results: ProbeResult[]): string[] {
  return results.filter((r) => !r.ok).map((r) => `${r.from} -> ${r.to} ${r.dstIp} ${r.protocol}${r.port !== undefined ? `/${r.port}` : ''}${r.size ? ` ${r.size + 28}B` : ''}: ${r.detail}`);
}

/** Checks a healthy matrix: every probe ok, Services answered by their endpoints, external reached through MASQUERADE. */
export function checkBaseline(state: LabState, results: ProbeResult[]): void {
  expect(failingLines(results)).toEqual([]);
  const t = state.topology;
  const nodeIp = new Map(t.nodes.map((n) => [n.name, n.ip]));
  const podNode = new Map(t.pods.map((p) => [p.key, p.node]));
  for (const r of results) {
    if (r.to === 'external' && r.protocol !== 'ICMP') {
      // nat-outgoing: the external host sees the source pod's node address, not the pod.
      expect(r.seenFrom, `${r.from} -> external`).toBe(nodeIp.get(podNode.get(r.from)!));
    }
    if (r.to.startsWith('svc:')) {
      const svc = t.services.find((s) => `svc:${s.key}` === r.to)!;
      const sp = svc.ports.find((p) => (r.from === 'external' ? p.nodePort === r.port : p.port === r.port) && p.protocol === r.protocol)!;
      expect(sp.endpoints.map((e) => e.pod)).toContain(r.servedBy);
    }
    if (t.pods.some((p) => p.key === r.to) && r.protocol !== 'ICMP') {
      // Pod to pod: no NAT, the listener sees the source pod's own address.
      expect(r.seenFrom).toBe(t.pods.find((p) => p.key === r.from)!.ip);
    }
  }
}

export function summaryLine(label: string, results: ProbeResult[], ms: number): string {
  const s = summarizeProbes(results);
  return `${label}: ${s.flows} flows (TCP ${s.byProtocol.TCP.ok + s.byProtocol.TCP.failed}, UDP ${s.byProtocol.UDP.ok + s.byProtocol.UDP.failed}, ICMP ${s.byProtocol.ICMP.ok + s.byProtocol.ICMP.failed}) in ${ms} ms, ${s.failed} failed`;
}

/** Processes still running whose command line mentions the state dir. */
export async function labProcesses(stateDir: string): Promise<string[]> {
  const r = await run('ps', ['-eo', 'pid=,args='], { allowFail: true });
  return r.stdout.split('\n').filter((l) => l.includes(stateDir));
}
