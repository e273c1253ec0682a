/**
 * Real-world check: outputs users posted in public Calico issues, kept as bundle directories under
 * test/fixtures/real-world/<name>/ (source URL and the root cause the thread found in each README.md),
 * diagnosed with every registered check. Each case asserts the check id matching the root cause.
 */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { loadBundle } from '../../src/bundle/load.js';
import { diagnose } from '../../src/checks/run.js';
import type { Finding } from '../../src/checks/types.js';

const DIR = path.join(import.meta.dirname, '..', 'fixtures', 'real-world');

async function findings(name: string): Promise<Finding[]> {
  const b = await loadBundle(path.join(DIR, name));
  const d = diagnose(b);
  expect(d.failedChecks).toEqual([]);
  return d.findings;
}

function one(fs: Finding[], check: string): Finding {
  const hits = fs.filter((f) => f.check === check);
  expect(hits.map((f) => f.check), `${check} in ${fs.map((f) => f.check).join(', ')}`).toContain(check);
  return hits[0];
}

describe('real-world dumps from public issues', () => {
  it('calico#2961: "Received: Bad peer AS" → bgp.as-mismatch (the node runs the default AS its routers refuse)', async () => {
    const fs = await findings('calico-2961-bad-peer-as');
    const f = one(fs, 'bgp.as-mismatch');
    expect(f.severity).toBe('error');
    expect(f.node).toBe('node-1');
    expect(f.explanation).toContain('rejected node-1');
    expect(one(fs, 'bgp.peer-not-established').title).toContain('2 BGP sessions not Established');
  });

  it('calico#7893: "Error: No listening socket" → bgp.peer-not-established, another daemon holds TCP 179', async () => {
    const f = one(await findings('calico-7893-no-listening-socket'), 'bgp.peer-not-established');
    expect(f.title).toContain('3 BGP sessions not Established');
    expect(f.explanation).toContain('another process (e.g. bgpd/FRR');
    expect(f.evidence.map((e) => e.line)).toEqual([4, 5, 6]);
  });

  it('calico#689: "Bad BGP identifier" → bgp.peer-not-established, the node peers with its own router ID', async () => {
    const f = one(await findings('calico-689-bad-bgp-identifier'), 'bgp.peer-not-established');
    expect(f.node).toBe('slave3');
    expect(f.explanation).toContain('same BGP router ID');
    expect(f.explanation).toContain('peering with its own address');
  });

  it('calico#8008: selector "kubernetes.io/hostname=\'…\'" → policy.selector-invalid with the == fix', async () => {
    const f = one(await findings('calico-8008-selector-invalid'), 'policy.selector-invalid');
    expect(f.severity).toBe('error');
    expect(f.remediation.yaml).toContain("selector: kubernetes.io/hostname == 'xxxxxxxxx'");
    expect(f.evidence.some((e) => e.line === 12 && e.text === "selector: kubernetes.io/hostname='xxxxxxxxx'")).toBe(true);
  });

  it('calicoctl#1295: two nginx replicas with 192.168.186.4 → ipam.duplicate-ip', async () => {
    const f = one(await findings('calicoctl-1295-duplicate-pod-ip'), 'ipam.duplicate-ip');
    expect(f.title).toContain('192.168.186.4 is used by 2 endpoints');
  });

  it('calicoctl#1524: "Connection refused" on 118, "No IPv4 peers found" on 218 → bgp.peer-not-established on both', async () => {
    const fs = (await findings('calicoctl-1524-connection-refused')).filter((f) => f.check === 'bgp.peer-not-established');
    expect(fs.map((f) => f.node).sort()).toEqual(['node-118', 'node-218']);
    expect(fs.find((f) => f.node === 'node-218')!.title).toContain('BIRD has no BGP peers while other nodes do');
    expect(fs.find((f) => f.node === 'node-118')!.explanation).toContain('Connection refused');
  });
});
