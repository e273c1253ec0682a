/**
 * The lab: a Calico-shaped multi-node dataplane in network namespaces (docs/lab.md).
 * Entry points for the CLI: labUp, labProbe, labBreak/labFix, labCollect, labDown.
 */
export { defaultLabSpec, parseLabSpec, labSpecFromObject, validateLabSpec, LabSpecError, type LabSpec, type LabMode } from './spec.js';
export { labUp, type LabUpOptions } from './up.js';
export { labDown, type LabDownOptions, type LabDownResult } from './down.js';
export { labProbe, planProbes, runProbes, summarizeProbes, formatProbeResults, probeKey, type ProbeResult, type PlannedProbe, type LabProbeOptions, type ProbeSummary } from './probe.js';
export { FAULTS, faultById, availableFaults, labBreak, labFix, labFixAll, type FaultDef, type FaultParams, type FaultContext } from './faults.js';
export { labCollect, clusterResources, type LabCollectOptions, type LabCollectResult } from './collect.js';
export { applyDataplane, type RenderDataplane, type LabDataplaneContext, type NodeDataplane } from './dataplane.js';
export { loadState, defaultStateDir, DEFAULT_LAB_PREFIX, DEFAULT_LAB_ROOT, type LabState } from './state.js';
export { meshStatus } from './bird.js';
export { LabError } from './sh.js';
