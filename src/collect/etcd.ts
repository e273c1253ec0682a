/**
 * `caliscope collect cluster --datastore etcdv3`: Calico's resources and IPAM straight from
 * etcd (as calicoctl reads them in etcd mode), written as the same `cluster/` lists the
 * Kubernetes path writes:
 *
 * - `/calico/resources/v3/projectcalico.org/<plural>/[<namespace>/]<name>` → the stored JSON is
 *   the projectcalico.org/v3 object; written as `cluster/<plural>.projectcalico.org.yaml` with
 *   resourceVersion = the key's mod revision.
 * - IPAM (libcalico-go/lib/backend/model: block.go, block_affinity.go, ipam_handle.go,
 *   ipam_config.go) → the crd.projectcalico.org/v1 objects the Kubernetes datastore would hold
 *   (IPAMBlock, BlockAffinity, IPAMHandle, IPAMConfig), named as Calico's KDD backend names them
 *   (block `192-168-45-0-26`, affinity `<node>-<block name>`, handle = lower-cased handle id).
 *
 * Reads are paginated at one revision (a consistent snapshot). TLS and auth as calicoctl:
 * CA, client certificate and key files; username/password.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Etcd3, Range, type IOptions } from 'etcd3';
import type { Manifest } from '../model/manifest.js';
import { Anonymizer } from './anonymize.js';
import { openOutput } from './output.js';
import { ProgressTracker, type FleetProgress } from './progress.js';
import { BundleSink } from './sink.js';

export interface EtcdCollectOptions {
  /** A directory or .tar.gz; ignored when `sink` is given. */
  out?: string;
  /** e.g. `https://10.0.0.1:2379` (calicoctl's etcdEndpoints, comma-separated there). */
  endpoints: string[];
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  username?: string;
  password?: string;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
  /** Keys per range request (default 500). */
  pageSize?: number;
  redact?: boolean;
  anonymize?: boolean;
  anonymizeKey?: string;
  format?: 'yaml' | 'json' | 'auto';
  /** Write into an existing bundle (together with a Kubernetes collection) instead of creating one. */
  sink?: BundleSink;
  onProgress?: (p: FleetProgress) => void;
}

export interface EtcdCollectResult {
  out?: string;
  manifest?: Manifest;
  /** Objects written per file. */
  counts: Record<string, number>;
  revision: string;
  anonymizeKey?: string;
}

const V3_PREFIX = '/calico/resources/v3/projectcalico.org/';
const IPAM_PREFIX = '/calico/ipam/v2/';

/** Kinds of the v3 plurals stored in etcd (calico-formats.md §9). */
export const V3_KINDS: Record<string, string> = {
  bgpconfigurations: 'BGPConfiguration',
  bgppeers: 'BGPPeer',
  bgpfilters: 'BGPFilter',
  clusterinformations: 'ClusterInformation',
  felixconfigurations: 'FelixConfiguration',
  globalnetworkpolicies: 'GlobalNetworkPolicy',
  stagedglobalnetworkpolicies: 'StagedGlobalNetworkPolicy',
  globalnetworksets: 'GlobalNetworkSet',
  hostendpoints: 'HostEndpoint',
  ippools: 'IPPool',
  ipreservations: 'IPReservation',
  networkpolicies: 'NetworkPolicy',
  stagednetworkpolicies: 'StagedNetworkPolicy',
  stagedkubernetesnetworkpolicies: 'StagedKubernetesNetworkPolicy',
  networksets: 'NetworkSet',
  tiers: 'Tier',
  caliconodestatuses: 'CalicoNodeStatus',
  profiles: 'Profile',
  kubecontrollersconfigurations: 'KubeControllersConfiguration',
  nodes: 'Node',
  workloadendpoints: 'WorkloadEndpoint',
  blockaffinities: 'BlockAffinity',
  ipamconfigs: 'IPAMConfig',
};

/** Names first, so that --anonymize knows node, namespace and pod names before they appear elsewhere. */
const V3_ORDER = ['nodes', 'workloadendpoints'];

interface KV {
  key: string;
  value: string;
  modRevision: string;
}

function etcdOptions(o: EtcdCollectOptions): IOptions {
  const timeout = o.timeoutMs ?? 30_000;
  const opts: IOptions = {
    hosts: o.endpoints,
    dialTimeout: timeout,
    defaultCallOptions: () => ({ deadline: new Date(Date.now() + timeout) }),
  };
  if (o.caFile || o.certFile || o.keyFile) {
    opts.credentials = {
      rootCertificate: o.caFile ? readFileSync(o.caFile) : (undefined as unknown as Buffer),
      ...(o.keyFile ? { privateKey: readFileSync(o.keyFile) } : {}),
      ...(o.certFile ? { certChain: readFileSync(o.certFile) } : {}),
    };
  }
  if (o.username) opts.auth = { username: o.username, password: o.password ?? '' };
  return opts;
}

/** Every key under `prefix`, `pageSize` at a time, all at the revision of the first page. */
async function readPrefix(client: Etcd3, prefix: string, pageSize: number, revision?: string): Promise<{ kvs: KV[]; revision: string }> {
  const end = Range.prefix(prefix).end;
  let start: Buffer = Buffer.from(prefix);
  const kvs: KV[] = [];
  let rev = revision;
  for (;;) {
    let q = client.getAll().inRange({ start, end }).limit(pageSize);
    if (rev) q = q.revision(rev);
    const r = await q.exec();
    rev ??= String(r.header.revision);
    for (const kv of r.kvs) kvs.push({ key: kv.key.toString('utf8'), value: kv.value.toString('utf8'), modRevision: String(kv.mod_revision) });
    if (!r.more || r.kvs.length === 0) break;
    start = Buffer.concat([r.kvs[r.kvs.length - 1].key, Buffer.from([0])]);
  }
  return { kvs, revision: rev ?? '' };
}

/** Calico's names.CIDRToName: `.`, `:` and `/` become `-`. */
export function cidrToName(cidr: string): string {
  return cidr.replace(/[.:/]/g, '-');
}

/** `192.168.45.0-26` (etcd key form) → `192.168.45.0/26`. */
export function keyCidr(k: string): string {
  const i = k.lastIndexOf('-');
  return i < 0 ? k : `${k.slice(0, i)}/${k.slice(i + 1)}`;
}

/** The BlockAffinity CRD name for (host, cidr), shortened with a hash as Calico does past 253 characters. */
export function blockAffinityName(host: string, cidr: string): string {
  const cidrName = cidrToName(cidr);
  const name = `${host}-${cidrName}`;
  if (name.length < 253) return name;
  const short = `${host.slice(0, 252 - cidrName.length - 13)}-${cidrName}`;
  const h = createHash('sha256').update(`${host}+${cidrName}`).digest('hex').slice(0, 11);
  return `${short}-${h}`;
}

type Obj = Record<string, unknown>;

function parseJSON(kv: KV, problems: string[]): Obj | undefined {
  try {
    const v = JSON.parse(kv.value) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Obj;
    problems.push(`${kv.key}: value is not a JSON object`);
  } catch (e) {
    problems.push(`${kv.key}: value is not JSON (${(e as Error).message})`);
  }
  return undefined;
}

/** Converts the v3 resource keys into objects grouped by plural. */
export function convertV3(kvs: KV[], problems: string[]): Map<string, Obj[]> {
  const out = new Map<string, Obj[]>();
  for (const kv of kvs) {
    const rest = kv.key.slice(V3_PREFIX.length).split('/');
    if (rest.length < 2 || rest.length > 3) {
      problems.push(`${kv.key}: unexpected key layout`);
      continue;
    }
    const [plural] = rest;
    const name = rest[rest.length - 1];
    const namespace = rest.length === 3 ? rest[1] : undefined;
    const v = parseJSON(kv, problems);
    if (!v) continue;
    const md = { ...((v.metadata as Obj | undefined) ?? {}) };
    md.name ??= name;
    if (namespace) md.namespace ??= namespace;
    md.resourceVersion = kv.modRevision;
    const obj: Obj = { apiVersion: 'projectcalico.org/v3', kind: (v.kind as string) ?? V3_KINDS[plural] ?? plural, ...v, metadata: md };
    obj.apiVersion = 'projectcalico.org/v3';
    const list = out.get(plural) ?? [];
    list.push(obj);
    out.set(plural, list);
  }
  return out;
}

const RE_BLOCK = /^\/calico\/ipam\/v2\/assignment\/ipv[46]\/block\/([^/]+)$/;
const RE_AFFINITY = /^\/calico\/ipam\/v2\/(host|virtual|@)\/([^/]+)\/ipv[46]\/block\/([^/]+)$/;
const RE_HANDLE = /^\/calico\/ipam\/v2\/handle\/([^/]+)$/;
const CRD = 'crd.projectcalico.org/v1';

/** Converts the IPAM v1-model keys into the crd.projectcalico.org/v1 objects of the Kubernetes datastore. */
export function convertIpam(kvs: KV[], problems: string[]): { blocks: Obj[]; affinities: Obj[]; handles: Obj[]; configs: Obj[] } {
  const res = { blocks: [] as Obj[], affinities: [] as Obj[], handles: [] as Obj[], configs: [] as Obj[] };
  for (const kv of kvs) {
    let m: RegExpExecArray | null;
    if ((m = RE_BLOCK.exec(kv.key))) {
      const v = parseJSON(kv, problems);
      if (!v) continue;
      const cidr = typeof v.cidr === 'string' ? v.cidr : keyCidr(m[1]);
      const { affinity_claim_time: claim, ...spec } = v;
      res.blocks.push({
        apiVersion: CRD,
        kind: 'IPAMBlock',
        metadata: { name: cidrToName(cidr), resourceVersion: kv.modRevision },
        spec: { ...spec, cidr, ...(claim !== undefined ? { affinityClaimTime: claim } : {}) },
      });
    } else if ((m = RE_AFFINITY.exec(kv.key))) {
      const v = parseJSON(kv, problems) ?? {};
      const cidr = keyCidr(m[3]);
      const host = m[2];
      const type = m[1] === '@' ? 'host' : m[1];
      res.affinities.push({
        apiVersion: CRD,
        kind: 'BlockAffinity',
        metadata: { name: blockAffinityName(host, cidr), resourceVersion: kv.modRevision },
        // The v1 CRD stores `deleted` as a string.
        spec: { state: v.state ?? '', node: host, type, cidr, deleted: String(v.deleted ?? false) },
      });
    } else if ((m = RE_HANDLE.exec(kv.key))) {
      const v = parseJSON(kv, problems);
      if (!v) continue;
      res.handles.push({
        apiVersion: CRD,
        kind: 'IPAMHandle',
        metadata: { name: m[1].toLowerCase(), resourceVersion: kv.modRevision },
        spec: { handleID: m[1], block: v.block ?? {}, deleted: v.deleted ?? false },
      });
    } else if (kv.key === '/calico/ipam/v2/config') {
      const v = parseJSON(kv, problems);
      if (!v) continue;
      res.configs.push({
        apiVersion: CRD,
        kind: 'IPAMConfig',
        metadata: { name: 'default', resourceVersion: kv.modRevision },
        spec: {
          strictAffinity: v.strict_affinity ?? v.strictAffinity ?? false,
          autoAllocateBlocks: v.auto_allocate_blocks ?? v.autoAllocateBlocks ?? false,
          ...(v.maxBlocksPerHost !== undefined ? { maxBlocksPerHost: v.maxBlocksPerHost } : {}),
        },
      });
    }
  }
  return res;
}

export async function collectEtcd(o: EtcdCollectOptions): Promise<EtcdCollectResult> {
  if (!o.endpoints.length) throw new Error('no etcd endpoints given');
  const progress = new ProgressTracker(o.onProgress);
  progress.phase('connect', o.endpoints.join(','));
  let sink = o.sink;
  let finalize: (() => Promise<string>) | undefined;
  let anonymizeKey: string | undefined;
  if (!sink) {
    if (!o.out) throw new Error('collectEtcd needs out or sink');
    const anonymizer = o.anonymize ? (o.anonymizeKey ? Anonymizer.fromHex(o.anonymizeKey) : Anonymizer.random()) : undefined;
    anonymizeKey = anonymizer?.keyHex;
    const output = await openOutput(o.out, { kind: 'etcd', endpoints: o.endpoints.map((e) => (anonymizer ? anonymizer.text(e) : e)), ...(anonymizer ? { anonymized: true } : {}) });
    sink = new BundleSink(output.writer, { redact: o.redact ?? true, anonymizer, format: o.format });
    finalize = output.finalize;
  }
  const client = new Etcd3(etcdOptions(o));
  const counts: Record<string, number> = {};
  const problems: string[] = [];
  const pageSize = o.pageSize ?? 500;
  let revision = '';
  try {
    progress.phase('resources', V3_PREFIX);
    const v3 = await readPrefix(client, V3_PREFIX, pageSize);
    revision = v3.revision;
    const ipam = await readPrefix(client, IPAM_PREFIX, pageSize, revision);
    const byPlural = convertV3(v3.kvs, problems);
    const plurals = [...byPlural.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    const write = async (file: string, items: Obj[], command: string) => {
      progress.phase('resources', file);
      await sink!.list(file, { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: revision }, items }, { command });
      counts[file] = items.length;
      progress.written(sink!.bytes);
    };
    for (const plural of plurals) {
      await write(`cluster/${plural}.projectcalico.org.yaml`, byPlural.get(plural)!, `etcd range ${V3_PREFIX}${plural}/ @rev ${revision}`);
    }
    const ip = convertIpam(ipam.kvs, problems);
    const ipamCmd = (what: string) => `etcd range ${IPAM_PREFIX}${what} @rev ${revision}`;
    await write('cluster/ipamblocks.crd.projectcalico.org.yaml', ip.blocks, ipamCmd('assignment/'));
    await write('cluster/blockaffinities.crd.projectcalico.org.yaml', ip.affinities, ipamCmd('host/'));
    await write('cluster/ipamhandles.crd.projectcalico.org.yaml', ip.handles, ipamCmd('handle/'));
    if (ip.configs.length) await write('cluster/ipamconfigs.crd.projectcalico.org.yaml', ip.configs, ipamCmd('config'));
    sink.note(`etcd: read ${v3.kvs.length} v3 resource keys and ${ipam.kvs.length} IPAM keys at revision ${revision}`);
    for (const p of problems.slice(0, 100)) sink.failure({ target: 'etcd', error: p });
    if (problems.length > 100) sink.note(`etcd: ${problems.length - 100} more unreadable keys not listed`);
  } catch (e) {
    sink.failure({ target: 'etcd', command: `etcd ${o.endpoints.join(',')}`, error: (e as Error).message });
    if (finalize) await sink.writer.flush();
    throw e;
  } finally {
    client.close();
  }
  const result: EtcdCollectResult = { counts, revision, ...(anonymizeKey ? { anonymizeKey } : {}) };
  if (finalize) {
    progress.phase('pack');
    result.out = await finalize();
    result.manifest = sink.writer.manifest;
  }
  progress.phase('done');
  return result;
}

function rank(plural: string): number {
  const i = V3_ORDER.indexOf(plural);
  return i < 0 ? V3_ORDER.length : i;
}
