/**
 * Plugs the renderer into the lab (src/lab/dataplane.ts `RenderDataplane`): one Felix-style
 * programming per lab node, from the lab's cluster resources (the objects `lab collect` writes,
 * so the bundle and the loaded rules come from the same intent).
 *
 * Faults: resource-level renderer faults (`nat-outgoing-off`, `policy-wrong-selector`,
 * `default-deny-no-dns`) are edits of the cluster resources and reach the renderer through them.
 * `ipset-stale` is a dataplane-only fault (Felix out of sync), implemented here: the pod's
 * address is left out of one IP set that a rule on its peers' nodes matches on.
 */
import { buildPolicyModel } from '../../calico/policy/index.js';
import type { ClusterResources, ResourceObject } from '../../model/resources.js';
import { buildClusterResources } from '../../parse/resources.js';
import { clusterResources } from '../collect.js';
import type { LabDataplaneContext, NodeDataplane, RenderDataplane } from '../dataplane.js';
import type { LabState } from '../state.js';
import type { FelixConfigOverrides } from './config.js';
import { type RenderedNode, renderFelixNode } from './node.js';

export interface LabRenderOptions {
  felixConfig?: Partial<FelixConfigOverrides>;
}

/** Picks (or checks) the set and member `ipset-stale` removes. */
function staleChoice(ctx: LabDataplaneContext, rendered: RenderedNode[]): { set: string; member: string; pod: string } | undefined {
  const f = ctx.faults['ipset-stale'];
  if (!f) return undefined;
  const wantPod = typeof f.params.pod === 'string' ? f.params.pod : undefined;
  const wantSet = typeof f.params.set === 'string' ? f.params.set : undefined;
  const pods = wantPod ? ctx.pods.filter((p) => p.key === wantPod) : ctx.pods;
  const setNames = [...new Set(rendered.flatMap((r) => [...r.ipsets.keys()]))].filter((n) => /^cali40[sn]:/.test(n)).sort();
  for (const pod of pods) {
    for (const set of wantSet ? [wantSet] : setNames) {
      const holds = rendered.some((r) => r.ipsets.get(set)?.members.some((m) => m === pod.ip || m.startsWith(`${pod.ip},`)));
      if (holds) return { set, member: pod.ip, pod: pod.key };
    }
  }
  return undefined;
}

/** The programming of every lab node from `cluster` (built by the lab from its state). */
export function renderLabNodes(ctx: LabDataplaneContext, cluster: ClusterResources, opts: LabRenderOptions = {}): Record<string, NodeDataplane> {
  const t = ctx.topology;
  const model = buildPolicyModel(cluster);
  const allNodeIps = t.nodes.map((n) => n.ip);
  const render = (omit?: Record<string, string[]>) =>
    t.nodes.map((n) =>
      renderFelixNode({
        cluster,
        model,
        node: n.name,
        nodeIp: n.ip,
        mode: t.mode,
        allNodeIps,
        ...(n.vtep ? { tunnelIp: n.vtep.ip } : {}),
        felixConfig: opts.felixConfig ?? {},
        kubeProxy: { services: true, clusterCIDR: t.poolCidr },
        ...(omit ? { omitIpsetMembers: omit } : {}),
      }),
    );
  let rendered = render();
  const stale = staleChoice(ctx, rendered);
  if (stale) {
    rendered = render({ [stale.set]: [stale.member] });
    // Record what was chosen, so `lab fix` and reports can name it.
    const f = ctx.faults['ipset-stale'];
    if (f) f.undo = { ...f.undo, set: stale.set, member: stale.member, pod: stale.pod };
  }
  return Object.fromEntries(rendered.map((r) => [r.node, { iptablesRestore: r.iptablesRestore, ipsetRestore: r.ipsetRestore }]));
}

/** A RenderDataplane for `labUp`/`labBreak`, given how to get the cluster resources of the lab. */
export function felixLabRenderer(clusterOf: (ctx: LabDataplaneContext) => ClusterResources | Promise<ClusterResources>, opts: LabRenderOptions = {}): RenderDataplane {
  return async (ctx) => renderLabNodes(ctx, await clusterOf(ctx), opts);
}

/**
 * The lab's cluster resources as the renderer sees them: exactly what `lab collect` writes into
 * the bundle's cluster/ (including the resource edits of active faults), read back through the
 * same resource parser a real bundle goes through.
 */
export function labClusterResources(ctx: LabDataplaneContext): ClusterResources {
  const t = ctx.topology;
  const extraPods = ctx.pods.filter((p) => !t.pods.includes(p));
  const state = { prefix: t.prefix, spec: ctx.spec, topology: t, createdAt: '2026-01-01T00:00:00Z', extraPods, ipamLeaks: [], faults: ctx.faults } as unknown as LabState;
  const objs: ResourceObject[] = [];
  for (const [file, items] of Object.entries(clusterResources(state))) {
    items.forEach((body, i) =>
      objs.push({ apiVersion: String(body.apiVersion ?? ''), kind: String(body.kind ?? ''), body, source: { artifact: `cluster/${file}`, line: i + 1, docIndex: 0, itemIndex: i } }),
    );
  }
  return buildClusterResources(objs).value;
}

/** The renderer `caliscope lab` uses: Felix-style programming from the lab's own resources. */
export function defaultLabRenderer(opts: LabRenderOptions = {}): RenderDataplane {
  return felixLabRenderer(labClusterResources, opts);
}
