/**
 * Calico policy semantics (issue 3): the model built once from a bundle's resources, verdicts
 * with trails, the policies of an endpoint, the reachability matrix, and their renderings.
 */
export * from './model.js';
export {
  type BuildPolicyModelOptions,
  type PolicyModel,
  type ServiceMembers,
  BUILTIN_TIERS,
  DEFAULT_TIER,
  buildPolicyModel,
  felixPolicySelector,
  policiesForEndpoint,
  profileFor,
} from './resolve.js';
export { K8S_POLICY_ORDER, K8S_POLICY_PREFIX, convertK8sNetworkPolicy, k8sSelectorToCalico, simplifyPorts } from './convert-k8s.js';
export {
  type DecidedBy,
  type DirectionVerdict,
  type FlowEnd,
  type FlowQuery,
  type FlowResult,
  type TrailEntry,
  type TrailKind,
  type Verdict,
  type Via,
  evaluateDirection,
  evaluateFlow,
  walkEndpoint,
} from './evaluate.js';
export { type Peer, type PolicyPacket, makePeer, protocolName, protocolNumber, ruleMatches } from './match.js';
export { describeRule, displaySelector, explainRuleMiss } from './reasons.js';
export * from './explain.js';
export * from './matrix.js';
