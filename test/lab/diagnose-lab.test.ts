/**
 * diagnose on the real lab: for every fault of the catalogue (src/lab/faults.ts), in each mode
 * where it exists, the bundle collected from the broken lab must yield the check that names that
 * fault (error or warning, about the faulted node where the fault has one, and not already
 * present in the baseline); the healthy lab's bundle must yield no error at all.
 *
 * One lab per mode with the Felix-style renderer (policy, IP sets and NAT as Felix programs them);
 * each fault: break → collect → diagnose → fix. Prints `mode, fault → expected id → found (rank)`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeRoot } from '../helpers/root.js';
import { labUp } from '../../src/lab/up.js';
import { labDown } from '../../src/lab/down.js';
import { labCollect } from '../../src/lab/collect.js';
import { labProbe } from '../../src/lab/probe.js';
import { FAULTS, labBreak, labFix } from '../../src/lab/faults.js';
import { birdc } from '../../src/lab/bird.js';
import { waitFor, LabError } from '../../src/lab/sh.js';
import { defaultLabSpec, type LabMode } from '../../src/lab/spec.js';
import { nodeByName } from '../../src/lab/topology.js';
import type { ActiveFault, LabState } from '../../src/lab/state.js';
import { defaultLabRenderer } from '../../src/lab/render/index.js';
import { loadBundle } from '../../src/bundle/load.js';
import { diagnose, type Diagnosis } from '../../src/checks/run.js';
import type { Finding } from '../../src/checks/types.js';
import { randomPrefix } from './expectations.js';

/** Fault id → the check whose finding names it. */
const EXPECTED: Record<string, string> = {
  'route-missing': 'route.missing-workload',
  'blackhole-shadow': 'route.blackhole-shadow',
  'iptables-drop': 'iptables.foreign-drop',
  'ipset-stale': 'dataplane.ipset-stale',
  'policy-wrong-selector': 'policy.selector-matches-nothing',
  'default-deny-no-dns': 'policy.default-deny-no-dns',
  'nat-outgoing-off': 'nat.outgoing-disabled',
  'bgp-port-blocked': 'bgp.port-blocked',
  'bgp-as-mismatch': 'bgp.as-mismatch',
  // The INPUT rule dropping UDP 4789: the engine runs the peers' VXLAN packets through INPUT.
  'vxlan-underlay-blocked': 'iptables.foreign-drop',
  'mtu-mismatch': 'mtu.mismatch',
  'proxy-arp-off': 'iface.proxy-arp-off',
  'forwarding-off': 'sysctl.forwarding-off',
  'rp-filter-strict': 'sysctl.rp-filter-strict',
  'duplicate-pod-ip': 'ipam.duplicate-ip',
  'ipam-leak': 'ipam.leaked-allocation',
};

/**
 * Baseline warnings that are true of the healthy lab. The default spec isolates egress of every
 * pod in `backend` (NetworkPolicy backend/default-deny) and allows DNS only for `app: api`, so
 * backend/db-0 really cannot resolve names; the test confirms it with probes.
 */
const JUSTIFIED_BASELINE_WARNINGS = [{ check: 'policy.default-deny-no-dns', subject: 'backend' }];

const MODES: LabMode[] = ['vxlan', 'bgp'];
const renderDataplane = defaultLabRenderer();

interface Row {
  mode: LabMode;
  fault: string;
  expected: string;
  found?: Finding;
  rank?: number;
  total: number;
  errors: number;
  ms: number;
}

const findingKey = (f: Finding) => `${f.check}|${f.node ?? ''}|${f.subject ?? ''}`;

/** The node a fault is about (where its finding must be), when it has one. */
function faultNode(state: LabState, f: ActiveFault): string | undefined {
  if (f.id === 'iptables-drop') return state.topology.pods.find((p) => p.key === f.undo.pod)?.node;
  if (f.id === 'duplicate-pod-ip' || f.id === 'ipam-leak') return undefined;
  return typeof f.undo.node === 'string' ? f.undo.node : undefined;
}

async function collectAndDiagnose(state: LabState, label: string): Promise<Diagnosis> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `caliscope-diag-${label}-`));
  try {
    await labCollect(state, path.join(dir, 'bundle'));
    const d = diagnose(await loadBundle(path.join(dir, 'bundle')));
    expect(d.failedChecks, `${label}: checks that threw`).toEqual([]);
    return d;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * bgp-as-mismatch returns as soon as the restarted sessions are down, about a second before BIRD
 * first reconnects; only that attempt leaves the evidence (`Last error: … Bad peer AS`) a bundle
 * from a real cluster, taken after the fact, always has. Wait for BIRD to have tried.
 */
async function settle(state: LabState, f: ActiveFault): Promise<void> {
  if (f.id !== 'bgp-as-mismatch') return;
  const node = nodeByName(state.topology, String(f.undo.node));
  await waitFor(`BIRD on ${node.name} to attempt its sessions`, 15_000, async () => {
    if (!/Last error:/.test(await birdc(node, ['show', 'protocols', 'all']))) throw new LabError('no session attempt yet');
    return true;
  });
}

function formatRow(r: Row): string {
  const found = r.found ? `${r.found.check} ${r.found.severity} (rank ${r.rank} of ${r.total}; ${r.errors} errors)` : `MISSED (findings: ${r.total})`;
  return `${r.mode.padEnd(5)}  ${r.fault.padEnd(22)} → ${r.expected.padEnd(32)} → ${found}  [${r.ms} ms]`;
}

describeRoot('diagnose on the real lab: each fault → its check', () => {
  const rows: Row[] = [];
  afterAll(() => {
    if (rows.length) console.log(`[diagnose-lab] mode, fault → expected id → found (rank)\n${rows.map(formatRow).join('\n')}`);
  });

  for (const mode of MODES) {
    describe(`${mode} mode`, () => {
      const prefix = randomPrefix();
      let state: LabState;
      let baseline: Diagnosis;
      const baselineKeys = new Set<string>();

      beforeAll(async () => {
        state = await labUp(defaultLabSpec(mode), { prefix, renderDataplane });
      });
      afterAll(async () => {
        await labDown({ prefix });
      });

      it('baseline: no error; every warning is justified and true of the lab', async () => {
        baseline = await collectAndDiagnose(state, `${mode}-baseline`);
        for (const f of baseline.findings) baselineKeys.add(findingKey(f));
        const summary = baseline.findings.map((f) => `${f.severity} ${f.check} ${f.node ?? ''} ${f.subject ?? ''}: ${f.title}`);
        console.log(`[diagnose-lab] ${mode} baseline: ${JSON.stringify(baseline.counts)}\n  ${summary.join('\n  ')}`);
        expect(baseline.findings.filter((f) => f.severity === 'error').map((f) => `${f.check}: ${f.title}`)).toEqual([]);
        const unjustified = baseline.findings.filter((f) => f.severity === 'warning' && !JUSTIFIED_BASELINE_WARNINGS.some((j) => j.check === f.check && j.subject === f.subject));
        expect(unjustified.map((f) => `${f.check}: ${f.title}`)).toEqual([]);
        // The justified warning is the kernel's truth: db-0's DNS is dropped, api's is not.
        const dns = await labProbe(state, {
          concurrency: 16,
          timeoutMs: 1500,
          largePackets: false,
          filter: (p) => (p.from === 'backend/db-0' || p.from === 'backend/api-1') && p.to.startsWith('kube-system/coredns') && p.port === 53,
        });
        expect(dns.length).toBeGreaterThan(0);
        for (const r of dns) expect(r.ok, `${r.from} → ${r.to} ${r.protocol}/53: ${r.detail}`).toBe(r.from === 'backend/api-1');
      }, 60_000);

      for (const def of FAULTS.filter((f) => f.modes.includes(mode))) {
        const expected = EXPECTED[def.id];
        it(`${def.id} → ${expected ?? '(no mapping)'}`, async () => {
          expect(expected, `fault ${def.id} has no expected check`).toBeDefined();
          const t0 = Date.now();
          const fault = await labBreak(state, def.id, {}, { renderDataplane });
          let d: Diagnosis;
          try {
            await settle(state, fault);
            d = await collectAndDiagnose(state, `${mode}-${def.id}`);
          } finally {
            await labFix(state, def.id, { renderDataplane });
          }
          const node = faultNode(state, fault);
          const idx = d.findings.findIndex(
            (f) => f.check === expected && (f.severity === 'error' || f.severity === 'warning') && (node === undefined || f.node === node) && !baselineKeys.has(findingKey(f)),
          );
          const row: Row = { mode, fault: def.id, expected, total: d.findings.length, errors: d.counts.error, ms: Date.now() - t0 };
          if (idx >= 0) Object.assign(row, { found: d.findings[idx], rank: idx + 1 });
          rows.push(row);
          expect(
            row.found,
            `${mode} ${def.id}: no new ${expected} finding${node ? ` on ${node}` : ''}; got:\n${d.findings.map((f) => `  ${f.severity} ${f.check} ${f.node ?? ''} ${f.subject ?? ''}: ${f.title}`).join('\n')}`,
          ).toBeDefined();
        }, 60_000);
      }
    });
  }
});
