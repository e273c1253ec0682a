/**
 * The Felix-style renderer (iptables mode, IPv4): what Felix and kube-proxy program on a node,
 * as restore texts and as structured data. See docs/renderer.md.
 */
export { renderFelixNode, localWorkloads, type RenderFelixNodeInput, type RenderedNode, type EndpointProgramming, type PolicyChainProgramming, type EncapMode } from './node.js';
export { expectedProgramming, encapModeOf, nodeAddress, clusterNodeNames, type ExpectedProgramming, type ExpectedOptions } from './expected.js';
export { renderKubeProxy, kubeChains, servicePortName, statisticProbability, serviceEndpoints, type KubeProxyOptions, type KubeProxyRendering } from './kube-proxy.js';
export { type FelixConfigOverrides, type FelixRenderConfig, type ChainStyle, resolveConfig } from './config.js';
export { type RenderedIpset, type IpsetType, ipsetRestoreText } from './ipsets.js';
export { type RenderedRule, type TableName, allocateMarks, felixComment } from './rule.js';
export { policyChainId, policyChainName, profileChainNameFor, v1PolicyName } from './policy.js';
export { renderLabNodes, felixLabRenderer, labClusterResources, defaultLabRenderer, type LabRenderOptions } from './lab.js';
