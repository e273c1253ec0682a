import { afterAll, beforeAll, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import { describeRoot } from '../helpers/root.js';
import { labUp } from '../../src/lab/up.js';
import { labDown } from '../../src/lab/down.js';
import { labProbe } from '../../src/lab/probe.js';
import { meshProtocolName, meshStatus } from '../../src/lab/bird.js';
import { defaultLabSpec } from '../../src/lab/spec.js';
import { listNetns, nsRun, pidAlive, run } from '../../src/lab/sh.js';
import type { LabState } from '../../src/lab/state.js';
import { randomPrefix } from './expectations.js';
import { checkBaseline, faultCycle, labProcesses, summaryLine, type FaultRun } from './harness.js';

/**
 * BGP mode: real BIRD 1.6 per node in a full mesh. Faults whose mechanics do not depend on the
 * mode (route-missing, iptables-drop, proxy-arp-off, forwarding-off) are exercised in the vxlan
 * suite; here the BGP faults and those whose effect differs with BIRD in the picture.
 */
const BGP_FAULTS = ['bgp-port-blocked', 'bgp-as-mismatch', 'blackhole-shadow', 'mtu-mismatch', 'duplicate-pod-ip', 'rp-filter-strict'];

describeRoot('lab (bgp mode, real BIRD)', () => {
  const prefix = randomPrefix();
  let state: LabState;
  let upMs = 0;
  const runs: FaultRun[] = [];

  beforeAll(async () => {
    const t0 = Date.now();
    state = await labUp(defaultLabSpec('bgp'), { prefix });
    upMs = Date.now() - t0;
  });
  afterAll(async () => {
    await labDown({ prefix });
    if (runs.length) console.log(`[lab bgp] up ${upMs} ms; faults:\n${runs.map((r) => `  ${r.id}: break ${r.breakMs} ms, probe ${r.probeMs} ms, ${r.failed}/${r.flows} flows failed`).join('\n')}`);
  });

  it('runs a BIRD full mesh: sessions Established, block routes arrive proto bird', async () => {
    const st = await meshStatus(state.topology);
    expect(st['node-a']).toEqual({ [meshProtocolName('10.0.0.12')]: 'Established', [meshProtocolName('10.0.0.13')]: 'Established' });
    expect(st['node-c']).toEqual({ Mesh_10_0_0_11: 'Established', Mesh_10_0_0_12: 'Established' });
    const a = `${prefix}-node-a`;
    const routes = (await nsRun(a, 'ip', ['route'])).stdout;
    expect(routes).toContain('10.244.2.0/26 via 10.0.0.12 dev eth0 proto bird');
    expect(routes).toContain('10.244.3.0/26 via 10.0.0.13 dev eth0 proto bird');
    expect(routes).toContain('blackhole 10.244.1.0/26 proto bird');
    expect(routes).not.toContain('vxlan.calico');
    const sock = state.topology.nodes[0].bird!.socket;
    const show = (await run('birdc', ['-s', sock, 'show', 'protocols'])).stdout;
    expect(show).toMatch(/^static1\s+Static\s+master\s+up/m);
    expect(show).toMatch(/^kernel1\s+Kernel\s+master\s+up/m);
    expect(show).toMatch(/^Mesh_10_0_0_12\s+BGP\s+master\s+up\s+\S+\s+Established/m);
    const cfg = await fs.readFile(state.topology.nodes[0].bird!.config, 'utf8');
    expect(cfg).toContain('protocol bgp Mesh_10_0_0_13 from bgp_template');
  });

  it('baseline: every pod reaches every pod and port, Services reach a backend, external through MASQUERADE', async () => {
    const t0 = Date.now();
    const res = await labProbe(state);
    const ms = Date.now() - t0;
    console.log(`[lab bgp] ${summaryLine('baseline probe (concurrency 32)', res, ms)}`);
    checkBaseline(state, res);
    expect(ms).toBeLessThan(60_000);
  }, 90_000);

  for (const id of BGP_FAULTS) {
    it(`fault ${id}: break → exactly the expected flows fail → fix → baseline`, async () => {
      runs.push(await faultCycle(state, id));
    }, 120_000);
  }

  it('lab down stops BIRD and the listeners and removes every namespace', async () => {
    const birdPids = state.processes.filter((p) => p.kind === 'bird').map((p) => p.pid);
    expect(birdPids).toHaveLength(3);
    await labDown({ prefix });
    expect(await listNetns(prefix)).toEqual([]);
    expect(await labProcesses(state.stateDir)).toEqual([]);
    for (const pid of birdPids) expect(pidAlive(pid), `bird ${pid}`).toBe(false);
    await expect(fs.access(state.stateDir)).rejects.toThrow();
  });
});
