/**
 * ippool.disabled (C9, C6): IP pool configuration that breaks address assignment or routing:
 * - pods or IPAM blocks in a disabled pool (warning: running pods keep their address, new pods
 *   cannot get one there; error when every pool of that family is disabled);
 * - a pool overlapping another pool (error: Calico refuses to create one, so this was forced);
 * - a pool overlapping the Service range (a Service clusterIP, or BGPConfiguration
 *   serviceClusterIPs, inside the pool): error, pod and Service addresses collide.
 */
import type { Evidence } from '../../model/evidence.js';
import type { IPPool } from '../../model/resources.js';
import { type Check, type Finding, result } from '../types.js';
import { cidrCovers, cidrOf, cidrsOverlap, ipOf, listText, notChecked, plural, resEv } from './util.js';
import { cidrContains } from '../../calico/policy/net.js';

const ID = 'ippool.disabled';

function podIps(p: { status: { podIPs: string[]; podIP?: string } }): string[] {
  const s = new Set([...p.status.podIPs, ...(p.status.podIP ? [p.status.podIP] : [])]);
  return [...s];
}

export const ippoolDisabled: Check = {
  id: ID,
  category: 'ipam',
  severity: 'error',
  title: 'Disabled or overlapping IP pools still in use',
  seeds: ['C9', 'C6'],
  run(ctx) {
    const b = ctx.bundle;
    const c = b.cluster;
    if (c.ipPools.length === 0) return result([], [notChecked(ID, 'no IPPools in the bundle (cluster/ippools…)')]);
    const findings: Finding[] = [];
    const pools = c.ipPools.map((p) => ({ p, cidr: cidrOf(p.spec.cidr) })).filter((x): x is { p: IPPool; cidr: NonNullable<ReturnType<typeof cidrOf>> } => x.cidr !== undefined);

    // Disabled pools with pods or blocks.
    for (const { p, cidr } of pools) {
      if (!p.spec.disabled) continue;
      const pods = c.pods.filter((pod) => !pod.spec.hostNetwork && pod.status.phase !== 'Succeeded' && pod.status.phase !== 'Failed' && podIps(pod).some((ip) => {
        const a = ipOf(ip);
        return a !== undefined && cidrContains(cidr, a);
      }));
      const blocks = c.ipamBlocks.filter((blk) => {
        const bc = cidrOf(blk.spec.cidr);
        return bc !== undefined && cidrCovers(cidr, bc);
      });
      const sameFamily = pools.filter((x) => x.cidr.family === cidr.family);
      const allDisabled = sameFamily.every((x) => x.p.spec.disabled);
      if (pods.length === 0 && blocks.length === 0 && !allDisabled) continue;
      const evidence: Evidence[] = [resEv(b, p.source, `IPPool ${p.metadata.name} ${p.spec.cidr} disabled: true`)];
      for (const pod of pods.slice(0, 5)) evidence.push(resEv(b, pod.source, `pod ${pod.metadata.namespace}/${pod.metadata.name} ${podIps(pod).join(', ')}`));
      for (const blk of blocks.slice(0, 3)) evidence.push(resEv(b, blk.source, `IPAMBlock ${blk.spec.cidr}${blk.spec.affinityNode ? ` on ${blk.spec.affinityNode}` : ''}`));
      findings.push({
        check: ID,
        severity: allDisabled ? 'error' : 'warning',
        category: 'ipam',
        title: allDisabled
          ? `Every IPv${cidr.family} pool is disabled: new pods cannot get an IPv${cidr.family} address`
          : `IPPool ${p.metadata.name} (${p.spec.cidr}) is disabled but ${plural(pods.length, 'pod')} and ${plural(blocks.length, 'block')} still use it`,
        explanation:
          `A disabled pool hands out no new addresses; existing pods keep theirs until they are recreated. ` +
          (pods.length > 0 ? `Still using it: ${listText(pods.map((x) => `${x.metadata.namespace}/${x.metadata.name}`), 4)}. ` : '') +
          (allDisabled ? `No enabled IPv${cidr.family} pool is left, so pod creation fails with "no configured Calico pools" / "no IP addresses available". ` : 'If this is a pool migration, recreate these pods so they move to the new pool; ') +
          (p.spec.disableBGPExport ? '' : 'routes for its blocks stay advertised while blocks exist.'),
        subject: p.metadata.name,
        evidence,
        remediation: {
          summary: allDisabled ? `Enable a pool (disabled: false) or create a new one.` : `Finish the migration: recreate the pods still in ${p.spec.cidr} (rollout restart their controllers), then delete the pool; or re-enable it if it was disabled by mistake.`,
          confirm: ['calicoctl get ippool -o wide', 'calicoctl ipam show --show-blocks', 'kubectl get pods -A -o wide'],
          fix: allDisabled ? [`calicoctl patch ippool ${p.metadata.name} --patch '{"spec":{"disabled":false}}'`] : ['kubectl rollout restart deployment -n <namespace> <name>', `calicoctl delete ippool ${p.metadata.name}   # once no block is left`],
          yaml: `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: ${p.metadata.name}\nspec:\n  cidr: ${p.spec.cidr}\n  disabled: false\n`,
        },
      });
    }

    // Pools overlapping each other.
    for (let i = 0; i < pools.length; i++) {
      for (let j = i + 1; j < pools.length; j++) {
        const a = pools[i];
        const o = pools[j];
        if (!cidrsOverlap(a.cidr, o.cidr)) continue;
        findings.push({
          check: ID,
          severity: 'error',
          category: 'ipam',
          title: `IPPools ${a.p.metadata.name} (${a.p.spec.cidr}) and ${o.p.metadata.name} (${o.p.spec.cidr}) overlap`,
          explanation: 'Calico refuses to create overlapping pools; these exist anyway (written to the datastore directly?). IPAM may allocate the same address range through two pools with different settings (encapsulation, natOutgoing, node selectors).',
          subject: a.p.metadata.name,
          evidence: [resEv(b, a.p.source, `IPPool ${a.p.metadata.name} ${a.p.spec.cidr}`), resEv(b, o.p.source, `IPPool ${o.p.metadata.name} ${o.p.spec.cidr}`)],
          remediation: {
            summary: 'Keep one of the two ranges: disable the other, migrate its pods, then delete it.',
            confirm: ['calicoctl get ippool -o wide'],
            fix: [`calicoctl patch ippool ${o.p.metadata.name} --patch '{"spec":{"disabled":true}}'`, `calicoctl delete ippool ${o.p.metadata.name}   # after its pods moved`],
          },
        });
      }
    }

    // Pools overlapping the Service range.
    const svcRanges = c.bgpConfigurations.flatMap((g) => g.spec.serviceClusterIPs.map((t) => ({ t, src: g.source }))).map((x) => ({ ...x, cidr: cidrOf(x.t) })).filter((x) => x.cidr);
    for (const { p, cidr } of pools) {
      if (p.spec.disabled) continue;
      const svcs = c.services.filter((s) => [...s.spec.clusterIPs, ...(s.spec.clusterIP ? [s.spec.clusterIP] : [])].some((ip) => {
        const a = ip !== 'None' ? ipOf(ip) : undefined;
        return a !== undefined && cidrContains(cidr, a);
      }));
      const ranges = svcRanges.filter((x) => cidrsOverlap(cidr, x.cidr!));
      if (svcs.length === 0 && ranges.length === 0) continue;
      const evidence: Evidence[] = [resEv(b, p.source, `IPPool ${p.metadata.name} ${p.spec.cidr}`)];
      for (const s of svcs.slice(0, 4)) evidence.push(resEv(b, s.source, `Service ${s.metadata.namespace}/${s.metadata.name} clusterIP ${s.spec.clusterIP}`));
      for (const r of ranges) evidence.push(resEv(b, r.src, `BGPConfiguration serviceClusterIPs ${r.t}`));
      findings.push({
        check: ID,
        severity: 'error',
        category: 'ipam',
        title: `IPPool ${p.metadata.name} (${p.spec.cidr}) overlaps the Service address range`,
        explanation:
          `${svcs.length > 0 ? `Service cluster IPs ${listText(svcs.map((s) => `${s.spec.clusterIP} (${s.metadata.namespace}/${s.metadata.name})`), 3)} lie` : `The advertised service range ${ranges.map((r) => r.t).join(', ')} lies`} inside the pod pool. ` +
          'A pod can get an address kube-proxy treats as a Service VIP (its traffic is DNATed away), and routes for pod blocks and for Services collide.',
        subject: p.metadata.name,
        evidence,
        remediation: {
          summary: 'Move pods to a pool that does not overlap the Service CIDR (kube-apiserver --service-cluster-ip-range): create the new pool, disable this one, recreate the pods.',
          confirm: ['calicoctl get ippool -o wide', "kubectl cluster-info dump | grep -m1 service-cluster-ip-range", 'kubectl get svc -A'],
          fix: [`calicoctl patch ippool ${p.metadata.name} --patch '{"spec":{"disabled":true}}'   # after creating a non-overlapping pool`],
          yaml: `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: ${p.metadata.name}-new\nspec:\n  cidr: <a range outside the Service CIDR and the node network>\n  ipipMode: ${p.spec.ipipMode}\n  vxlanMode: ${p.spec.vxlanMode}\n  natOutgoing: ${p.spec.natOutgoing}\n  nodeSelector: ${JSON.stringify(p.spec.nodeSelector)}\n`,
        },
      });
    }
    return result(findings);
  },
};
