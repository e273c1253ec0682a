/**
 * Regenerates samples/lab-bundle: real kernel output from the lab (3 nodes, VXLAN, Felix-style
 * rules) with three faults injected, collected by the real node collector. Root only.
 *
 *   sudo npx tsx scripts/make-sample-bundle.ts [out-dir]
 *
 * The faults: a policy whose selector has the wrong case (api → db is denied across nodes),
 * a pod whose /32 route is missing, and proxy_arp off on one pod's veth.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultLabSpec, labBreak, labCollect, labDown, labUp } from '../src/lab/index.js';
import { defaultLabRenderer } from '../src/lab/render/index.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const out = path.resolve(process.argv[2] ?? path.join(ROOT, 'samples/lab-bundle'));
const prefix = 'cssample';
const stateDir = `/tmp/caliscope-sample-${prefix}`;
const renderDataplane = defaultLabRenderer();

export const SAMPLE_FAULTS: Array<{ id: string; params?: Record<string, string> }> = [
  { id: 'policy-wrong-selector' },
  { id: 'route-missing', params: { pod: 'frontend/web-2' } },
  { id: 'proxy-arp-off', params: { pod: 'default/client' } },
];

async function main(): Promise<void> {
  await labDown({ prefix, stateDir }).catch(() => undefined);
  const state = await labUp(defaultLabSpec('vxlan'), { prefix, stateDir, renderDataplane });
  try {
    for (const f of SAMPLE_FAULTS) await labBreak(state, f.id, f.params ?? {}, { renderDataplane });
    await fs.rm(out, { recursive: true, force: true });
    const r = await labCollect(state, out);
    process.stdout.write(`wrote ${out}: ${r.manifest.files.length} files in ${r.durationMs} ms; faults ${SAMPLE_FAULTS.map((f) => f.id).join(', ')}\n`);
  } finally {
    await labDown({ prefix, stateDir });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`make-sample-bundle: ${(e as Error).message}\n`);
  process.exit(1);
});
