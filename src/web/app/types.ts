/** The API's response types, from the server modules that produce them (type-only: nothing of the server is bundled). */
export type { SummaryResponse, TraceResponse, EndpointFacts, SelectorResponse, EndpointRef } from '../api.js';
export type { Diagnosis } from '../../checks/run.js';
export type { Finding, Severity, Remediation } from '../../checks/types.js';
export type { Evidence } from '../../model/evidence.js';
export type { EvidenceContext } from '../evidence.js';
export type { Hop, Step, DropInfo, PathResult, PacketView, TraceResult } from '../../trace/types.js';
export type { RuleHit } from '../../engine/netfilter/evaluate.js';
export type { PolicyCheckJson, PolicyForEntry, DirectionJson } from '../../calico/policy/explain.js';
export type { MatrixJson } from '../../calico/policy/matrix.js';
export type { Topology, TopoNode, TopoPod, TopoLink } from '../topology.js';
export type { ChainRow, RuleRow, ChainPage, SearchHit, IpsetRow, CallerRef } from '../rules.js';
export type { ReportData } from '../report-data.js';
