/** What `caliscope report` embeds in its HTML file for the client to show without a server. */
import type { Diagnosis } from '../checks/run.js';
import type { EvidenceContext } from './evidence.js';
import type { SummaryResponse, TraceResponse } from './api.js';

export interface ReportData {
  mode: 'report';
  generatedAt: string;
  version: string;
  summary: SummaryResponse;
  findings: Diagnosis;
  traces: TraceResponse[];
  /** Requested traces that could not be run (bad endpoint names…). */
  traceErrors: { query: string; error: string }[];
  /** Raw lines around every evidence line of the findings and the traces' drops, by `evidenceKey`. */
  evidence: Record<string, EvidenceContext>;
}

/** Lines of context kept per evidence line in a report. */
export const REPORT_CONTEXT = 5;

export function evidenceKey(artifact: string, line: number): string {
  return `${artifact}\n${line}`;
}

/** The element id of the embedded JSON. */
export const REPORT_DATA_ID = 'caliscope-report-data';
