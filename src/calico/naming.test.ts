import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EndpointMarkAllocator,
  NON_CALI_ENDPOINT,
  chainToPolicyIndex,
  endpointChainName,
  endpointMark,
  felixRuleHashes,
  fnv1_32,
  ipsetNameForId,
  ipsetNameForSelector,
  lengthLimitedId,
  mapMarkToNumber,
  mapNumberToMark,
  namedPortSetName,
  parseWorkloadEndpointName,
  policyChainName,
  policyIdCandidates,
  profileChainName,
  vethNameForWorkload,
  workloadEndpointName,
  workloadEndpointNameResult,
} from './naming.js';
import { mustParseSelector, ruleSelectorFor } from './selector/index.js';

describe('veth and WorkloadEndpoint names (felix-rules.md §6)', () => {
  it('vethNameForWorkload matches Calico', () => {
    expect(vethNameForWorkload('namespace', 'podname', 'eni')).toBe('eni82111e10a96'); // Calico test
    expect(vethNameForWorkload('namespace', 'podname')).toBe('cali82111e10a96');
    expect(vethNameForWorkload('default', 'nginx')).toBe('calic440f455693');
    expect(vethNameForWorkload('default', 'nginx', 'eni,cali')).toBe('enic440f455693'); // first of the list
  });

  it('workloadEndpointName doubles dashes', () => {
    expect(workloadEndpointName({ node: 'worker-1', orchestrator: 'k8s', pod: 'nginx-7c5d', endpoint: 'eth0' })).toBe(
      'worker--1-k8s-nginx--7c5d-eth0',
    );
    expect(workloadEndpointName({ node: 'n', orchestrator: 'cni', containerId: 'abc-1', endpoint: 'eth0' })).toBe(
      'n-cni-abc--1-eth0',
    );
    expect(workloadEndpointName({ node: 'n', orchestrator: 'libnetwork', endpoint: 'ep' })).toBe(
      'n-libnetwork-libnetwork-ep',
    );
    expect(workloadEndpointName({ node: 'n', orchestrator: 'openstack', workload: 'vm-1', endpoint: 'tap' })).toBe(
      'n-openstack-vm--1-tap',
    );
    expect(workloadEndpointNameResult({ node: 'n-', orchestrator: 'k8s', pod: 'p', endpoint: 'eth0' }).ok).toBe(false);
    expect(workloadEndpointNameResult({ node: 'n', orchestrator: 'k8s', pod: '-p', endpoint: 'eth0' }).ok).toBe(false);
    expect(workloadEndpointNameResult({ node: 'n', orchestrator: 'k8s', endpoint: 'eth0' }).ok).toBe(false);
  });

  it('parseWorkloadEndpointName reverses it', () => {
    expect(parseWorkloadEndpointName('worker--1-k8s-nginx--7c5d-eth0')).toEqual({
      ok: true,
      ids: { node: 'worker-1', orchestrator: 'k8s', pod: 'nginx-7c5d', endpoint: 'eth0' },
    });
    expect(parseWorkloadEndpointName('node1-k8s')).toEqual({ ok: true, ids: { node: 'node1', orchestrator: 'k8s' } });
    expect(parseWorkloadEndpointName('a-k8s-b-c-d').ok).toBe(false);
    expect(parseWorkloadEndpointName('').ok).toBe(false);
  });

  it('round-trips random k8s identifiers', () => {
    const seg = fc.stringMatching(/^[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?$/);
    fc.assert(
      fc.property(seg, seg, seg, (node, pod, endpoint) => {
        const name = workloadEndpointName({ node, orchestrator: 'k8s', pod, endpoint });
        expect(parseWorkloadEndpointName(name)).toEqual({ ok: true, ids: { node, orchestrator: 'k8s', pod, endpoint } });
      }),
    );
  });
});

describe('chain names (felix-rules.md §4)', () => {
  it('lengthLimitedId matches Calico policy_test.go', () => {
    expect(lengthLimitedId('cali-pi-', 'gnp/long-policy-name-that-gets-hashed')).toBe('cali-pi-_PymyFHQQg3808jiz1OJ');
    expect(lengthLimitedId('cali-pri-', 'long-policy-name-that-gets-hashed')).toBe('cali-pri-_ffOMcf6pikpiZ6hgKc');
    expect(policyChainName('ingress', 'gnp/long-policy-name-that-gets-hashed')).toBe('cali-pi-_PymyFHQQg3808jiz1OJ');
    expect(profileChainName('ingress', 'long-policy-name-that-gets-hashed')).toBe('cali-pri-_ffOMcf6pikpiZ6hgKc');
  });

  it('keeps names that fit, hashes exact-fit names starting with _', () => {
    expect(profileChainName('ingress', 'kns.default')).toBe('cali-pri-kns.default');
    expect(profileChainName('egress', 'kns.kube-system')).toBe('cali-pro-kns.kube-system');
    expect(profileChainName('ingress', 'ksa.default.default')).toBe('cali-pri-ksa.default.default'); // exactly 28
    expect(lengthLimitedId('cali-pi-', '_'.repeat(20))).toMatch(/^cali-pi-_[A-Za-z0-9_-]{19}$/);
    expect(lengthLimitedId('cali-pi-', '')).toBe('cali-pi-_');
    expect(endpointChainName('tw', 'cali12345678901')).toBe('cali-tw-cali12345678901');
    expect(endpointChainName('fhfw', 'eth0')).toBe('cali-fhfw-eth0');
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        expect(Buffer.byteLength(lengthLimitedId('cali-po-', s))).toBeLessThanOrEqual(28);
      }),
    );
  });

  it('policyIdCandidates covers every version style', () => {
    const np = { kind: 'NetworkPolicy', namespace: 'prod', name: 'allow-web', tier: 'default' };
    expect(policyIdCandidates(np, 'kind')).toContain('np/prod/allow-web');
    expect(policyIdCandidates(np, 'tiered')).toEqual(['default/prod/default.allow-web']);
    expect(policyIdCandidates(np, 'v1')).toContain('prod/default.allow-web');
    const gnp = { kind: 'GlobalNetworkPolicy', name: 'default.foo', tier: 'default' };
    expect(policyIdCandidates(gnp, 'kind')).toContain('gnp/default.foo');
    expect(policyIdCandidates(gnp, 'kind')).toContain('gnp/foo');
    expect(policyIdCandidates(gnp, 'tiered')).toEqual(['default/default.foo']);
    expect(policyIdCandidates(gnp, 'v1')).toContain('default.foo');
    const tiered = { kind: 'GlobalNetworkPolicy', name: 'security.block', tier: 'security' };
    expect(policyIdCandidates(tiered, 'tiered')).toEqual(['security/security.block']);
    const knp = { kind: 'KubernetesNetworkPolicy', namespace: 'default', name: 'allow-web' };
    expect(policyIdCandidates(knp, 'kind')).toContain('knp/default/allow-web');
    expect(policyIdCandidates(knp, 'tiered')).toEqual(['default/default/knp.default.allow-web']);
    expect(policyIdCandidates(knp, 'v1')).toEqual(['default/knp.default.allow-web']);
    expect(policyIdCandidates({ kind: 'StagedGlobalNetworkPolicy', name: 'x' }, 'kind')).toContain('sgnp/x');
    expect(policyIdCandidates({ kind: 'KubernetesClusterNetworkPolicy', name: 'x' }, 'kind')).toContain('kcnp/x');
  });

  it('chainToPolicyIndex maps hashed chain names back to policies', () => {
    const policies = [
      { kind: 'KubernetesNetworkPolicy', namespace: 'default', name: 'allow-web', tier: 'default' },
      { kind: 'GlobalNetworkPolicy', name: 'long-policy-name-that-gets-hashed', tier: 'default' },
      { kind: 'NetworkPolicy', namespace: 'prod', name: 'db-access', tier: 'default' },
    ];
    const index = chainToPolicyIndex(policies);
    const hit = index.get('cali-pi-_PymyFHQQg3808jiz1OJ');
    expect(hit?.policy).toBe(policies[1]);
    expect(hit?.direction).toBe('ingress');
    expect(hit?.style).toBe('kind');
    expect(index.get(policyChainName('egress', 'knp/default/allow-web'))?.direction).toBe('egress');
    expect(index.get('cali-pi-knp/default/web')).toBeUndefined();
    expect(index.get(policyChainName('ingress', 'default/prod/default.db-access'))).toMatchObject({
      policy: policies[2],
      style: 'tiered',
    });
    expect(index.get(policyChainName('ingress', 'default/knp.default.allow-web'))).toMatchObject({
      policy: policies[0],
      style: 'v1',
    });
  });
});

describe('IP set names (felix-rules.md §5)', () => {
  it('selector sets', () => {
    expect(ipsetNameForSelector('projectcalico.org/namespace == "default"')).toBe('cali40s:4g010_DunYvItGg3dv2Mxna');
    expect(ipsetNameForSelector('projectcalico.org/namespace == "default"', 6)).toBe('cali60s:4g010_DunYvItGg3dv2Mxna');
    expect(ipsetNameForId('all-ipam-pools')).toBe('cali40all-ipam-pools');
    expect(ipsetNameForId('masq-ipam-pools', 6)).toBe('cali60masq-ipam-pools');
  });

  it('named-port sets', () => {
    expect(namedPortSetName(mustParseSelector('all()').uid, 'tcp', 'http')).toBe('cali40n:cl9_Kgeu4H0OGLbhovVR3NB');
  });

  it('combined rule selector → set name', () => {
    const sel = ruleSelectorFor({
      policyNamespace: 'default',
      selector: "projectcalico.org/orchestrator == 'k8s' && app == 'web'",
    });
    expect(sel).toBeDefined();
    expect(ipsetNameForSelector(sel!)).toBe('cali40s:XdTkeoA4uORlm_7HsXcm20F');
  });
});

describe('Felix rule hashes (felix-rules.md §0, felix/fv/cali-iptables-dump.txt)', () => {
  it('reproduces the quoted values', () => {
    expect(
      felixRuleHashes('cali-wl-to-host', [
        '--jump cali-from-wl-dispatch',
        '-m comment --comment "Configured DefaultEndpointToHostAction" --jump ACCEPT',
      ]),
    ).toEqual(['Ee9Sbo10IpVujdIY', 'nSZbcOoG1xPONxb8']);
    expect(felixRuleHashes('INPUT', ['--jump cali-INPUT'])).toEqual(['Cz_u1IQiXIMmKD4c']);
    // A full "-A <chain> HASH …" rendering is accepted as is.
    expect(felixRuleHashes('INPUT', ['-A INPUT HASH --jump cali-INPUT'])).toEqual(['Cz_u1IQiXIMmKD4c']);
  });

  it('reproduces a whole chain of the real dump (long-form options, --in-interface, marks)', () => {
    expect(
      felixRuleHashes('cali-FORWARD', [
        '--jump MARK --set-mark 0/0x1a0000',
        '-m mark --mark 0/0x10000 --jump cali-from-hep-forward',
        '--in-interface cali+ --jump cali-from-wl-dispatch',
        '--out-interface cali+ --jump cali-to-wl-dispatch',
        '--jump cali-to-hep-forward',
        '--jump cali-cidr-block',
      ]),
    ).toEqual(['W_vvds1Nw3n9QE2f', 'ZfgmjuiLaA8Pg0kp', 'tAzwBLPaV-j53OOZ', '4Z0Pf0byo05NFe-P', 'hQ7Oc16wmUtLuneJ', 'rnKNH2WxGcRQcIlD']);
    // Rules Felix appends to kernel chains hash under "<chain>*appends*".
    expect(
      felixRuleHashes('FORWARD*appends*', [
        '-m comment --comment "Policy explicitly accepted packet." -m mark --mark 0x10000/0x10000 --jump ACCEPT',
        '--jump MARK --set-mark 0x10000/0x10000',
      ]),
    ).toEqual(['S93hcgKJrXEqnTfs', 'mp77cMpurHhyjLrM']);
  });

  it('proves the real dump had VXLAN accept rules removed (hash chain needs them)', () => {
    // Without the "Allow IPv4 VXLAN packets to other allowed hosts" rule the 3rd hash differs.
    const withRule = felixRuleHashes('cali-OUTPUT', [
      '-m mark --mark 0x10000/0x10000 --jump ACCEPT',
      '--out-interface cali+ --jump RETURN',
      '-m comment --comment "Allow IPv4 VXLAN packets to other allowed hosts" -p 17 -m multiport --destination-ports 4789 -m addrtype --src-type LOCAL -m set --match-set cali40all-vxlan-net dst --jump ACCEPT',
      '--jump MARK --set-mark 0/0x1b0000',
      '-m conntrack ! --ctstate DNAT --jump cali-to-host-endpoint',
      '-m comment --comment "Host endpoint policy accepted packet." -m mark --mark 0x10000/0x10000 --jump ACCEPT',
    ]);
    expect([withRule[0], withRule[1], withRule[3], withRule[4], withRule[5]]).toEqual([
      'Mq1_rAdXXH3YkrzW',
      '69FkRTJDvD5Vu6Vl',
      '6T0hFtymUtXMOfEV',
      'IpTGXsDHURPUaLjJ',
      'wgnULo2gucg1umsA',
    ]);
    const input = felixRuleHashes('cali-INPUT', [
      '-m comment --comment "Allow IPv4 VXLAN packets from allowed hosts" -p 17 -m multiport --destination-ports 4789 -m set --match-set cali40all-vxlan-net src -m addrtype --dst-type LOCAL --jump ACCEPT',
      '-m comment --comment "Drop IPv4 VXLAN packets from non-allowed hosts" -p 17 -m multiport --destination-ports 4789 -m addrtype --dst-type LOCAL --jump DROP',
      '--in-interface cali+ --goto cali-wl-to-host',
      '-m mark --mark 0x10000/0x10000 --jump ACCEPT',
      '--jump MARK --set-mark 0/0x1b0000',
      '--jump cali-from-host-endpoint',
      '-m comment --comment "Host endpoint policy accepted packet." -m mark --mark 0x10000/0x10000 --jump ACCEPT',
    ]);
    expect(input.slice(1)).toEqual([
      'EDCNTTxYfggApx8C',
      'H03xYXARh4e8pwd4',
      'MN6K3isIWBigb1Va',
      'aKDQAoV0P_FFAIwV',
      'vIx3xkWzuvLW9fr4',
      '5W9XghKma9wuz47x',
    ]);
  });

  it('an empty body hashes "-A <chain> HASH"', () => {
    expect(felixRuleHashes('c', [''])).toEqual(felixRuleHashes('c', ['-A c HASH']));
  });
});

describe('endpoint marks (felix-rules.md §2)', () => {
  it('FNV-1 32 matches Go hash/fnv test vectors', () => {
    expect(fnv1_32('')).toBe(0x811c9dc5);
    expect(fnv1_32('a')).toBe(0x050c5d7e);
    expect(fnv1_32('ab')).toBe(0x70772d38);
    expect(fnv1_32('abc')).toBe(0x439c2f4b);
  });

  it('maps numbers to marks over the mask bits', () => {
    expect(mapNumberToMark(0x700, 1)).toBe(0x100);
    expect(mapNumberToMark(0x700, 5)).toBe(0x500);
    expect(mapNumberToMark(0x700, 8)).toBeUndefined();
    expect(mapNumberToMark(0xffe00000, 1)).toBe(0x200000);
    expect(mapMarkToNumber(0x700, 0x600)).toBe(6);
    expect(mapMarkToNumber(0x700, 0x210)).toBeUndefined();
  });

  // Felix's epmark_test.go uses a mock hash = last byte of the name; reproduce its tables.
  const lastByte = (s: string) => Buffer.from(s)[Buffer.byteLength(s) - 1] ?? 0;
  const run = (ops: string[]) => {
    const a = new EndpointMarkAllocator(0x700, 0x100, lastByte);
    const out: number[] = [];
    for (const op of ops) {
      if (op.startsWith('x')) a.release(op.slice(1));
      else out.push(a.get(op) ?? 0);
    }
    return out;
  };

  it('allocates like Felix (epmark_test.go tables)', () => {
    expect(run(['cali1', 'cali2', 'cali3', 'cali1', 'cali2', 'cali7'])).toEqual([0x200, 0x300, 0x400, 0x200, 0x300, 0x700]);
    expect(run(['cali1', 'cali6', 'cali3', 'cali11', 'cali22', 'cali33', 'cali8', 'cali9'])).toEqual([
      0x200, 0x600, 0x300, 0x400, 0x500, 0x700, 0, 0,
    ]);
    expect(run(['cali1', 'cali6', 'cali3', 'xcali1', 'xcali2', 'cali33', 'cali11', 'cali66'])).toEqual([
      0x200, 0x600, 0x300, 0x400, 0x200, 0x700,
    ]);
    expect(
      run(['cali1', 'cali6', 'cali3', 'cali11', 'cali22', 'cali33', 'cali8', 'cali5', 'xcali3', 'xcali6', 'cali55', 'cali66']),
    ).toEqual([0x200, 0x600, 0x300, 0x400, 0x500, 0x700, 0, 0, 0x600, 0x300]);
  });

  it('set/get rules match epmark_test.go', () => {
    const a = new EndpointMarkAllocator(0x700, 0x100, lastByte);
    expect(a.set('cali1', 0x210)).toBe(false);
    expect(a.set('cali1', 0x300)).toBe(true);
    expect(a.get('cali1')).toBe(0x300);
    expect(a.set('cali1', 0x100)).toBe(false);
    expect(a.get('cali13')).toBe(0x400);
    expect(new EndpointMarkAllocator(0x10, 0x10, lastByte).get(NON_CALI_ENDPOINT)).toBe(0x10);
  });

  it('endpointMark with the real hash stays inside the mask (value unverified on a live node)', () => {
    const m = endpointMark('cali12345678901');
    expect(m).toBeDefined();
    expect((m! & 0xffe00000) >>> 0).toBe(m);
    expect(m).not.toBe(0x200000); // reserved non-Calico mark
  });
});
