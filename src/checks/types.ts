/**
 * A diagnosis check: one module per problem (stable id), pure function of the loaded bundle and
 * the models built from it. Findings carry evidence (artifact + line + text) and a remediation
 * with the command to confirm live and the change that fixes it.
 */
import type { Bundle } from '../model/bundle.js';
import type { Evidence } from '../model/evidence.js';
import type { PolicyModel } from '../calico/policy/resolve.js';
import type { Runtime } from '../trace/runtime.js';

export type Severity = 'error' | 'warning' | 'info';

export type Category = 'routing' | 'interfaces' | 'rules' | 'dataplane' | 'nat' | 'conntrack' | 'felix' | 'components' | 'policy' | 'bgp' | 'ipam' | 'performance';

export interface Remediation {
  /** What to do, in one or two sentences. */
  summary: string;
  /** Commands that confirm the problem live (read-only). */
  confirm?: string[];
  /** Commands or steps that fix it. */
  fix?: string[];
  /** A resource change, as YAML. */
  yaml?: string;
}

export interface Finding {
  /** The check id, e.g. `route.missing-workload`. */
  check: string;
  severity: Severity;
  category: Category;
  /** One line. */
  title: string;
  /** A few sentences: what is wrong and why it matters. */
  explanation: string;
  node?: string;
  /** What the finding is about (a pod, a pool, a peer…), for grouping and filtering. */
  subject?: string;
  evidence: Evidence[];
  remediation: Remediation;
}

/** Why a check could not run ("not checked: no ip-route for node B"). */
export interface NotChecked {
  check: string;
  node?: string;
  reason: string;
}

export interface CheckContext {
  bundle: Bundle;
  /** Built lazily and shared by every check. */
  policy(): PolicyModel;
  runtime(): Runtime;
}

export interface CheckResult {
  findings: Finding[];
  notChecked: NotChecked[];
}

export interface Check {
  id: string;
  category: Category;
  /** The most severe level this check reports. */
  severity: Severity;
  title: string;
  /** Seed procedure ids this check automates (C1, P5, S12…). */
  seeds: string[];
  run(ctx: CheckContext): CheckResult;
}

export function result(findings: Finding[] = [], notChecked: NotChecked[] = []): CheckResult {
  return { findings, notChecked };
}
