/**
 * A node's dataplane as Felix would program it (the Felix-style renderer of src/lab/render), as
 * bundle files, so the intent-vs-programmed checks can be tested against a faithful dump and
 * against the same dump with one thing removed.
 */
import { renderFelixNode } from '../../src/lab/render/index.js';
import { type BundleSpec, type Obj, makeBundle } from './helpers.js';
import type { Bundle } from '../../src/model/bundle.js';

export interface RenderedFiles {
  iptables: string;
  ipset: string;
}

export function renderNode(objects: Obj[], node: string, nodeIp: string, allNodeIps: string[], omitIpsetMembers?: Record<string, string[]>, chainStyle?: 'tiered' | 'kind'): RenderedFiles {
  const b = makeBundle({ objects });
  const r = renderFelixNode({ cluster: b.cluster, node, nodeIp, mode: 'vxlan', allNodeIps, kubeProxy: { services: false }, ...(chainStyle ? { felixConfig: { chainStyle } } : {}), ...(omitIpsetMembers ? { omitIpsetMembers } : {}) });
  return { iptables: r.iptablesRestore, ipset: r.ipsetRestore };
}

/** The bundle with node files from `edit(rendered)`. */
export function bundleWithNode(objects: Obj[], node: string, files: RenderedFiles, extra: BundleSpec['files'] = {}): Bundle {
  return makeBundle({ objects, files: { [`nodes/${node}/iptables-save.txt`]: files.iptables, [`nodes/${node}/ipset.txt`]: files.ipset, ...extra } });
}

/** Removes a chain (its declaration and every rule in or jumping to it) from an iptables-save text. */
export function dropChain(text: string, chain: string): string {
  return text
    .split('\n')
    .filter((l) => l !== `:${chain} - [0:0]` && !l.startsWith(`-A ${chain} `) && !new RegExp(`-[jg] ${chain.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( |$)`).test(l))
    .join('\n');
}
