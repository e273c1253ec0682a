/**
 * component.kube-controllers-down: calico-kube-controllers is absent, not Running or not Ready.
 * It garbage-collects IPAM allocations of deleted pods and nodes, removes Calico Nodes of deleted
 * Kubernetes nodes, and (etcd datastore) syncs namespaces, service accounts and Kubernetes network
 * policies into Calico — without it, IPs leak and, with etcd, new policies do not take effect.
 * Seeds C4, C6, C12.
 */
import type { Check, CheckResult } from '../types.js';
import { calicoNamespace, dedupe, fieldEv, isCalicoNodePod, isKubeControllersPod, notChecked, remediation, resEv } from './common.js';

const ID = 'component.kube-controllers-down';

export const componentKubeControllersDown: Check = {
  id: ID,
  category: 'components',
  severity: 'error',
  title: 'calico-kube-controllers is down',
  seeds: ['C4', 'C6', 'C12'],
  run(ctx): CheckResult {
    const b = ctx.bundle;
    const c = b.cluster;
    const out: CheckResult = { findings: [], notChecked: [] };
    const ns = calicoNamespace(c);
    const kc = c.pods.filter(isKubeControllersPod);
    const calicoSeen = c.pods.some((p) => isCalicoNodePod(p) || p.metadata.namespace === 'calico-system');
    if (kc.length === 0) {
      if (!calicoSeen) {
        out.notChecked.push(notChecked(ID, 'no pods of calico-system (or calico-node pods) in the cluster resources'));
        return out;
      }
      const any = c.pods.find(isCalicoNodePod);
      out.findings.push({
        check: ID,
        severity: 'warning',
        category: 'components',
        title: 'No calico-kube-controllers pod in the cluster',
        explanation: `The bundle has Calico's pods${any ? ` (e.g. ${any.metadata.namespace}/${any.metadata.name})` : ''} but no calico-kube-controllers pod. Its Deployment may be scaled to 0 or failing to schedule: IPAM garbage collection stops (leaked IPs accumulate), and with the etcd datastore Kubernetes network policies and namespaces are no longer synced.`,
        subject: 'calico-kube-controllers',
        evidence: any ? [resEv(b, any.source, 'calico-node pods are present')] : [],
        remediation: remediation(`Check the calico-kube-controllers Deployment and why it has no pod.`, [`kubectl get deploy -n ${ns} calico-kube-controllers`, `kubectl describe deploy -n ${ns} calico-kube-controllers`], [`kubectl scale deploy -n ${ns} calico-kube-controllers --replicas=1`]),
      });
      return out;
    }
    const healthy = kc.filter((p) => !p.metadata.deletionTimestamp && (p.status.phase ?? 'Running') === 'Running' && p.status.ready !== false);
    if (healthy.length > 0) return out;
    const p = kc[0];
    const cond = p.status.conditions.find((x) => x.type === 'Ready' || x.type === 'ContainersReady');
    const evidence = [resEv(b, p.source, `Pod ${p.metadata.namespace}/${p.metadata.name}`)];
    for (const needle of ['CrashLoopBackOff', 'restartCount', 'type: Ready']) {
      const e = fieldEv(b, p.source, needle);
      if (e.line !== p.source.line) evidence.push(e);
    }
    out.findings.push({
      check: ID,
      severity: 'error',
      category: 'components',
      title: `calico-kube-controllers is not ready (${p.status.phase ?? 'unknown phase'}${cond?.reason ? `, ${cond.reason}` : ''})`,
      explanation: `${p.metadata.namespace}/${p.metadata.name} is ${p.status.phase !== 'Running' ? p.status.phase ?? 'not running' : 'not Ready'}. calico-kube-controllers garbage-collects IPAM allocations and stale nodes and, with the etcd datastore, syncs Kubernetes network policies, namespaces and service accounts: while it is down, IPs of deleted pods leak and (etcd) policy changes are not applied.`,
      subject: `${p.metadata.namespace}/${p.metadata.name}`,
      evidence: dedupe(evidence),
      remediation: remediation(
        `Read its logs (datastore access, RBAC, its health check) and fix the cause; it restarts cleanly.`,
        [`kubectl get pods -n ${ns} -l k8s-app=calico-kube-controllers -o wide`, `kubectl logs -n ${ns} ${p.metadata.name} --previous`, `kubectl describe pod -n ${ns} ${p.metadata.name}`],
        [`kubectl rollout restart deploy -n ${ns} calico-kube-controllers  # after fixing the cause`],
      ),
    });
    return out;
  },
};
