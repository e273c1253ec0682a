/**
 * `caliscope collect cluster`: Kubernetes and Calico resources through the API (discovery,
 * paginated lists, RBAC denials recorded per resource), the Calico components' pod logs, and —
 * with `nodes` — every selected node's dataplane through its calico-node pod (fleet.ts). Written
 * incrementally (a crash leaves a partial bundle, `complete: false`), resumable, redacted by
 * default, optionally anonymized.
 */
import { createHash } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Manifest } from '../model/manifest.js';
import { Anonymizer } from './anonymize.js';
import { DEFAULT_NODE_TIMEOUT_MS, DEFAULT_PARALLEL, DEFAULT_RETRIES, runFleet, type FleetResult, type FleetTarget, type PodExecTransport } from './fleet.js';
import { KubeApi, KubeApiError, loadKubeConfig, type KubeConnectOptions } from './kube.js';
import type { PlanOptions } from './node-plan.js';
import { openOutput } from './output.js';
import { ProgressTracker, type FleetProgress } from './progress.js';
import { apiVersionOf, CALICO_CRD, CALICO_V3, discoverResources, isNotFound, resourceBasePath, resourceFileName, type ApiResource } from './resources.js';
import { collectEtcd, type EtcdCollectOptions } from './etcd.js';
import { BundleSink } from './sink.js';

export interface ClusterLogOptions {
  /** Lines from the end of each container log (default 5000). */
  tailLines?: number;
  /** Bytes per log at most (default 10 MiB). */
  limitBytes?: number;
  /**
   * Which calico-node pods' logs: `all`, `unhealthy` (not ready or restarted), `none`, or `auto`
   * (default): all when there are at most 100 calico-node pods, else the unhealthy ones plus
   * those on nodes named in `nodes`. kube-controllers and typha logs are always collected.
   */
  calicoNode?: 'auto' | 'all' | 'unhealthy' | 'none';
}

export interface ClusterCollectOptions extends KubeConnectOptions {
  /** A directory, or a `.tar.gz`/`.tgz` file. */
  out: string;
  /** Restrict namespaced resources to these namespaces (Calico's own namespaces are added). */
  namespaces?: string[];
  /** Collect node dataplanes: all nodes, or these node names. */
  nodes?: 'all' | string[];
  /** Collect the nodes matching this label selector (with or instead of `nodes`). */
  nodeSelector?: string;
  parallel?: number;
  nodeTimeoutMs?: number;
  retries?: number;
  retryBaseMs?: number;
  /** Continue a partial bundle at `out`: skips resources already listed and nodes already complete. */
  resume?: boolean;
  redact?: boolean;
  anonymize?: boolean;
  /** Hex key for --anonymize (needed to resume an anonymized bundle; default: random). */
  anonymizeKey?: string;
  /** List page size (default 500). */
  pageSize?: number;
  logs?: ClusterLogOptions;
  format?: 'yaml' | 'json' | 'auto';
  /** Node plan options (timeouts, caps, socket paths) for the fleet. */
  plan?: PlanOptions;
  /**
   * Calico uses the etcdv3 datastore: read Calico's resources and IPAM from etcd (collectEtcd)
   * into this bundle instead of from the Calico API groups; Kubernetes objects still come from the API.
   */
  etcd?: Omit<EtcdCollectOptions, 'out' | 'sink' | 'anonymize' | 'anonymizeKey' | 'redact' | 'format' | 'onProgress'>;
  onProgress?: (p: FleetProgress) => void;
  signal?: AbortSignal;
  /** Use this KubeConfig instead of loading one (tests, embedding). */
  kubeConfig?: KubeConfig;
  /** Run node scripts through this instead of the exec API (tests). */
  transport?: PodExecTransport;
}

export interface ClusterCollectResult {
  /** Final bundle path (the archive, or the directory). */
  out: string;
  /** The directory that was written (for an archive: the staging directory, removed when complete). */
  dir: string;
  complete: boolean;
  manifest: Manifest;
  calicoApi: string;
  nodes?: FleetResult;
  /** The key used for --anonymize (keep it to resume or to map names back). */
  anonymizeKey?: string;
}

interface ClusterSource {
  kind: 'cluster';
  context: string;
  server: string;
  calicoApi?: string;
  resourcesComplete?: boolean;
  nodesComplete?: string[];
  anonymized?: boolean;
  anonymizeKeyId?: string;
  [k: string]: unknown;
}

const CALICO_COMPONENTS = ['calico-node', 'calico-kube-controllers', 'calico-typha'];
/** Flush a resource list into a file once this much JSON has accumulated (the list continues in `<name>.2.yaml`, …). */
const CHUNK_BYTES = 48 * 1024 * 1024;

interface PodLite {
  namespace: string;
  name: string;
  nodeName?: string;
  app: string;
  ready: boolean;
  containers: { name: string; restartCount: number }[];
}

export async function collectCluster(o: ClusterCollectOptions): Promise<ClusterCollectResult> {
  const progress = new ProgressTracker(o.onProgress);
  progress.phase('connect');
  const kc = o.kubeConfig ?? loadKubeConfig(o);
  const api = new KubeApi(kc);
  await api.checkReachable(o.signal);
  const anonymizer = o.anonymize ? (o.anonymizeKey ? Anonymizer.fromHex(o.anonymizeKey) : Anonymizer.random()) : undefined;
  const keyId = anonymizer ? createHash('sha256').update(anonymizer.key).digest('hex').slice(0, 12) : undefined;
  const source: ClusterSource = {
    kind: 'cluster',
    context: api.contextName,
    server: anonymizer ? anonymizer.text(api.server) : api.server,
    ...(anonymizer ? { anonymized: true, anonymizeKeyId: keyId } : {}),
  };
  const output = await openOutput(o.out, source, {
    resume: o.resume,
    manifestFlushMs: 1000,
    checkPrevious: (m) => {
      const p = m?.source as ClusterSource | undefined;
      if (p && p.kind !== 'cluster') throw new Error(`${o.out} is a ${p.kind} bundle, not a cluster collection; cannot resume it`);
      if (p?.anonymized && p.anonymizeKeyId !== keyId) throw new Error('this bundle was anonymized: resume it with --anonymize and the same --anonymize-key');
      if (p && !p.anonymized && anonymizer) throw new Error('this bundle was not anonymized: resume it without --anonymize');
    },
  });
  const { writer } = output;
  const prev = output.previous?.source as ClusterSource | undefined;
  const src = writer.manifest.source as ClusterSource;
  Object.assign(src, { ...source, resourcesComplete: prev?.resourcesComplete ?? false, nodesComplete: prev?.nodesComplete ?? [] });
  const sink = new BundleSink(writer, { redact: o.redact ?? true, anonymizer, format: o.format });
  const signal = o.signal;
  const result: ClusterCollectResult = {
    out: o.out,
    dir: output.dir,
    complete: false,
    manifest: writer.manifest,
    calicoApi: prev?.calicoApi ?? 'unknown',
    ...(anonymizer ? { anonymizeKey: anonymizer.keyHex } : {}),
  };
  const failure = (target: string, command: string, e: unknown) => sink.failure({ target, command, error: e instanceof Error ? e.message : String(e) });

  try {
    // Calico's own pods: their nodes, names, health — needed for logs and for the fleet.
    progress.phase('discovery', 'Calico component pods');
    const calicoPods = await findCalicoPods(api, o.pageSize, signal, failure);
    const nodeNames: string[] = [];

    if (!src.resourcesComplete) {
      progress.phase('discovery', 'API groups');
      const disc = await discoverResources(api);
      if (o.etcd) {
        // etcd mode: Calico's data lives in etcd, not in the Kubernetes API.
        disc.resources = disc.resources.filter((r) => r.group !== CALICO_V3 && r.group !== CALICO_CRD);
        disc.calicoApi = 'etcdv3';
      }
      src.calicoApi = result.calicoApi = disc.calicoApi;
      for (const n of disc.notes) sink.note(n);
      for (const f of disc.failures) sink.failure(f);
      let namespaces = o.namespaces;
      if (namespaces) namespaces = [...new Set([...namespaces, ...calicoPods.map((p) => p.namespace)])];
      for (const r of disc.resources) {
        if (signal?.aborted) break;
        progress.phase('resources', `${r.plural}${r.group ? `.${r.group}` : ''}`);
        await listResource(api, sink, r, {
          namespaces: r.namespaced ? namespaces : undefined,
          pageSize: o.pageSize,
          signal,
          onItem: r.plural === 'nodes' && !r.group ? (it) => nodeNames.push(String((it.metadata as { name?: string })?.name ?? '')) : undefined,
        });
        progress.written(sink.bytes);
      }
      if (o.etcd && !signal?.aborted) {
        progress.phase('resources', `etcd ${o.etcd.endpoints.join(',')}`);
        try {
          await collectEtcd({ ...o.etcd, sink });
        } catch {
          /* recorded as a failure by collectEtcd; the Kubernetes part of the bundle is still useful */
        }
      }
      if (!signal?.aborted) {
        progress.phase('logs');
        await collectLogs(api, sink, calicoPods, o, progress);
      }
      if (!signal?.aborted) await writer.update((m) => ((m.source as ClusterSource).resourcesComplete = true));
    } else {
      // Resuming after the resource phase: the fleet still needs the node names.
      if (o.nodes === 'all') for (const n of await listNodeNames(api, undefined, o.pageSize, signal).catch(() => [] as string[])) nodeNames.push(n);
    }

    if ((o.nodes || o.nodeSelector) && !signal?.aborted) {
      const targets = await selectTargets(api, o, nodeNames, calicoPods, sink);
      anonymizer?.addNames('node', targets.map((t) => t.node));
      const doneSet = new Set(src.nodesComplete ?? []);
      const skip = new Set(targets.filter((t) => doneSet.has(anonymizer ? anonymizer.name('node', t.node) : t.node)).map((t) => t.node));
      if (o.resume) {
        // Failures recorded for nodes about to be collected again are stale.
        const again = new Set(targets.filter((t) => !skip.has(t.node)).map((t) => `node/${sink.path(`nodes/${t.node}/x`).split('/')[1]}`));
        await writer.update((m) => {
          m.failures = (m.failures ?? []).filter((f) => !again.has(f.target));
        });
      }
      const transport: PodExecTransport = o.transport ?? ((t, command, io) => api.exec(t, command, io));
      result.nodes = await runFleet({
        targets,
        transport,
        sink,
        progress,
        plan: o.plan,
        parallel: o.parallel ?? DEFAULT_PARALLEL,
        nodeTimeoutMs: o.nodeTimeoutMs ?? DEFAULT_NODE_TIMEOUT_MS,
        retries: o.retries ?? DEFAULT_RETRIES,
        retryBaseMs: o.retryBaseMs,
        skip,
        signal,
        onNodeComplete: (node) =>
          writer.update((m) => {
            const s = m.source as ClusterSource;
            (s.nodesComplete ??= []).push(anonymizer ? anonymizer.name('node', node) : node);
          }),
      });
    }

    if (signal?.aborted) {
      await writer.flush();
      result.manifest = writer.manifest;
      return result;
    }
    progress.phase('pack');
    result.out = await output.finalize();
    result.complete = true;
    result.manifest = writer.manifest;
    progress.written(sink.bytes);
    progress.phase('done');
    return result;
  } catch (e) {
    // Whatever was written stays a usable partial bundle with an up-to-date manifest.
    await writer.flush().catch(() => {});
    throw e;
  }
}

async function listNodeNames(api: KubeApi, selector: string | undefined, pageSize = 500, signal?: AbortSignal): Promise<string[]> {
  const names: string[] = [];
  const q = selector ? `?labelSelector=${encodeURIComponent(selector)}` : '';
  for await (const { page } of api.listPages(`/api/v1/nodes${q}`, { limit: pageSize, signal })) {
    for (const it of page.items ?? []) names.push(String((it.metadata as { name?: string })?.name ?? ''));
  }
  return names.filter(Boolean);
}

async function findCalicoPods(
  api: KubeApi,
  pageSize = 500,
  signal: AbortSignal | undefined,
  failure: (target: string, command: string, e: unknown) => void,
): Promise<PodLite[]> {
  const selector = encodeURIComponent(`k8s-app in (${CALICO_COMPONENTS.join(',')})`);
  const pods: PodLite[] = [];
  const read = async (path: string) => {
    for await (const { page } of api.listPages(path, { limit: pageSize, signal })) for (const it of page.items ?? []) pods.push(podLite(it));
  };
  try {
    await read(`/api/v1/pods?labelSelector=${selector}`);
  } catch (e) {
    if (!(e instanceof KubeApiError && e.status === 403)) {
      failure('pods/calico-components', `GET /api/v1/pods?labelSelector=${decodeURIComponent(selector)}`, e);
      return pods;
    }
    // Namespace-scoped RBAC: look where operator and manifest installs put Calico.
    for (const ns of ['calico-system', 'kube-system']) {
      try {
        await read(`/api/v1/namespaces/${ns}/pods?labelSelector=${selector}`);
      } catch (e2) {
        failure(`pods/calico-components/${ns}`, `GET /api/v1/namespaces/${ns}/pods`, e2);
      }
    }
  }
  return pods;
}

function podLite(it: Record<string, unknown>): PodLite {
  const md = (it.metadata ?? {}) as { name?: string; namespace?: string; labels?: Record<string, string> };
  const spec = (it.spec ?? {}) as { nodeName?: string; containers?: { name: string }[] };
  const status = (it.status ?? {}) as { conditions?: { type: string; status: string }[]; containerStatuses?: { name: string; restartCount?: number }[] };
  const restarts = new Map((status.containerStatuses ?? []).map((c) => [c.name, c.restartCount ?? 0]));
  return {
    namespace: md.namespace ?? '',
    name: md.name ?? '',
    nodeName: spec.nodeName,
    app: md.labels?.['k8s-app'] ?? '',
    ready: (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    containers: (spec.containers ?? []).map((c) => ({ name: c.name, restartCount: restarts.get(c.name) ?? 0 })),
  };
}

/** Lists one resource (over namespaces when restricted) into `cluster/<plural>.<group>.yaml` (+ chunks). */
async function listResource(
  api: KubeApi,
  sink: BundleSink,
  r: ApiResource,
  o: { namespaces?: string[]; pageSize?: number; signal?: AbortSignal; onItem?: (it: Record<string, unknown>) => void },
): Promise<void> {
  const base = resourceBasePath(r);
  const paths = o.namespaces ? o.namespaces.map((ns) => `${base}/namespaces/${encodeURIComponent(ns)}/${r.plural}`) : [`${base}/${r.plural}`];
  const apiVersion = apiVersionOf(r);
  const target = `resource/${r.plural}${r.group ? `.${r.group}` : ''}`;
  let items: unknown[] = [];
  let bytes = 0;
  let chunk = 1;
  let rv = '';
  let inconsistent = false;
  let listed = false;
  const flush = async (force: boolean) => {
    if (!force && items.length === 0) return;
    await sink.list(
      resourceFileName(r, chunk),
      { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: rv }, items },
      { command: `GET ${paths.join(', ')}` },
    );
    chunk++;
    items = [];
    bytes = 0;
  };
  for (const p of paths) {
    try {
      for await (const { page, bytes: n } of api.listPages(p, { limit: o.pageSize, signal: o.signal, onInconsistent: () => (inconsistent = true) })) {
        listed = true;
        rv = page.metadata?.resourceVersion ?? rv;
        for (const it of page.items ?? []) {
          o.onItem?.(it);
          // List responses omit each item's apiVersion/kind; kubectl get -o yaml prints them.
          items.push({ apiVersion, kind: r.kind, ...it });
        }
        bytes += n;
        if (bytes > CHUNK_BYTES) await flush(false);
      }
    } catch (e) {
      if (o.signal?.aborted) return;
      if (isNotFound(e) && paths.length === 1) {
        sink.note(`${target}: not served by this cluster (404)`);
        return;
      }
      sink.failure({ target, command: `GET ${p}`, error: (e as Error).message });
    }
  }
  if (inconsistent) sink.note(`${target}: the list changed while it was paged (continue token expired); it may be inconsistent`);
  if (listed) await flush(chunk === 1);
}

function selectLogPods(pods: PodLite[], o: ClusterCollectOptions): PodLite[] {
  const mode = o.logs?.calicoNode ?? 'auto';
  const named = new Set(Array.isArray(o.nodes) ? o.nodes : []);
  const nodePods = pods.filter((p) => p.app === 'calico-node');
  const unhealthy = (p: PodLite) => !p.ready || p.containers.some((c) => c.restartCount > 0);
  let chosen: PodLite[];
  if (mode === 'none') chosen = [];
  else if (mode === 'all' || (mode === 'auto' && nodePods.length <= 100)) chosen = nodePods;
  else chosen = nodePods.filter((p) => unhealthy(p) || (mode === 'auto' && p.nodeName !== undefined && named.has(p.nodeName)));
  return [...pods.filter((p) => p.app !== 'calico-node'), ...chosen];
}

async function collectLogs(api: KubeApi, sink: BundleSink, pods: PodLite[], o: ClusterCollectOptions, progress: ProgressTracker): Promise<void> {
  const tail = o.logs?.tailLines ?? 5000;
  const limit = o.logs?.limitBytes ?? 10 * 1024 * 1024;
  const jobs: { pod: PodLite; container: string; previous: boolean }[] = [];
  for (const pod of selectLogPods(pods, o)) {
    for (const c of pod.containers) {
      jobs.push({ pod, container: c.name, previous: false });
      if (c.restartCount > 0) jobs.push({ pod, container: c.name, previous: true });
    }
  }
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (;;) {
      if (o.signal?.aborted) return;
      const j = jobs[next++];
      if (!j) return;
      const { pod, container, previous } = j;
      const q = `container=${encodeURIComponent(container)}&tailLines=${tail}&limitBytes=${limit}${previous ? '&previous=true' : ''}`;
      const path = `/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.name)}/log?${q}`;
      const rel =
        pod.app === 'calico-node' && container === 'calico-node' && !previous && pod.nodeName
          ? `nodes/${pod.nodeName}/felix.log`
          : `logs/${pod.namespace}/${pod.name}/${container}${previous ? '.previous' : ''}.log`;
      try {
        const r = await api.get(path, { accept: 'text/plain', maxBytes: limit, signal: o.signal });
        await sink.text(rel, r.body, { command: `GET ${path}`, ...(r.truncated ? { truncated: true } : {}) });
      } catch (e) {
        if (!o.signal?.aborted) sink.failure({ target: `pod/${pod.namespace}/${pod.name}`, command: `GET ${path}`, error: (e as Error).message });
      }
      done++;
      progress.written(sink.bytes);
      if (done % 10 === 0 || done === jobs.length) progress.phase('logs', `${done}/${jobs.length} container logs`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.parallel ?? DEFAULT_PARALLEL, jobs.length) }, worker));
}

async function selectTargets(api: KubeApi, o: ClusterCollectOptions, allNodes: string[], pods: PodLite[], sink: BundleSink): Promise<FleetTarget[]> {
  let names: string[] = [];
  const list = async (selector?: string): Promise<string[]> => {
    try {
      return await listNodeNames(api, selector, o.pageSize, o.signal);
    } catch (e) {
      // Node listing forbidden: the calico-node pods still say which nodes run Calico (a selector cannot be applied then).
      sink.failure({ target: 'nodes', command: `GET /api/v1/nodes${selector ? `?labelSelector=${selector}` : ''}`, error: `${(e as Error).message}; using the nodes of the calico-node pods` });
      return selector ? [] : pods.filter((p) => p.app === 'calico-node' && p.nodeName).map((p) => p.nodeName!);
    }
  };
  if (o.nodes === 'all') names = allNodes.length ? allNodes : await list();
  else if (Array.isArray(o.nodes)) names = [...o.nodes];
  if (o.nodeSelector) {
    const sel = await list(o.nodeSelector);
    names = o.nodes ? names.filter((n) => sel.includes(n)) : sel;
  }
  const byNode = new Map(pods.filter((p) => p.app === 'calico-node' && p.nodeName).map((p) => [p.nodeName!, p]));
  const targets: FleetTarget[] = [];
  for (const n of [...new Set(names)].sort()) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(n)) {
      sink.failure({ target: `node/${JSON.stringify(n)}`, error: 'not a valid node name; skipped' });
      continue;
    }
    const pod = byNode.get(n);
    if (!pod) {
      sink.failure({ target: `node/${n}`, error: 'no calico-node pod found on this node (is Calico running there? is the node name right?)' });
      continue;
    }
    const container = pod.containers.some((c) => c.name === 'calico-node') ? 'calico-node' : (pod.containers[0]?.name ?? 'calico-node');
    targets.push({ node: n, namespace: pod.namespace, pod: pod.name, container });
  }
  return targets;
}
