/** The collectors' public surface (the CLI and the lab call these). See docs/collection.md. */
export { collectNode, assembleNode, runStepsLocal, type NodeCollectOptions, type NodeCollectResult, type AssembleOptions } from './node.js';
export { localExec, netnsExec, formatCommand, type Exec, type ExecOptions, type ExecResult } from './exec.js';
export { planNodeSteps, type PlanOptions, type Step, type StepResult, DEFAULT_BIRD_SOCKET, DEFAULT_BIRD6_SOCKET } from './node-plan.js';
export { buildNodeScript, FrameReceiver } from './node-script.js';
export { collectCluster, type ClusterCollectOptions, type ClusterCollectResult, type ClusterLogOptions } from './cluster.js';
export { collectEtcd, type EtcdCollectOptions, type EtcdCollectResult } from './etcd.js';
export { runFleet, DEFAULT_PARALLEL, DEFAULT_NODE_TIMEOUT_MS, DEFAULT_RETRIES, type FleetTarget, type PodExecTransport, type FleetResult } from './fleet.js';
export { loadKubeConfig, KubeApi, KubeApiError, type KubeConnectOptions } from './kube.js';
export {
  createProgressDisplay,
  renderProgressLine,
  renderProgressLog,
  renderProgressSummary,
  ProgressTracker,
  type FleetProgress,
  type FleetEvent,
  type ProgressDisplay,
} from './progress.js';
export { redactText, redactObject, REDACTED } from './redact.js';
export { Anonymizer } from './anonymize.js';
export { BundleSink, type SinkOptions } from './sink.js';
export { BundleWriter, packBundle, sealBundle, initBundle } from './bundle-writer.js';
export { openOutput, isArchivePath } from './output.js';
