/**
 * Evidence and parse issues: the first-class types carried from the parsers to the report.
 * Every verdict and finding in caliscope points at an artifact (a bundle-relative path such as
 * `nodes/node-a/iptables-save.txt`) and, where it has one, a 1-based line in that artifact.
 */

/** A pointer into the raw evidence. `line` is 1-based; absent when the artifact has no lines (e.g. an API object). */
export interface Evidence {
  artifact: string;
  node?: string;
  line?: number;
  /** The raw text of that line (or a short excerpt), so a human can check without opening the file. */
  text?: string;
  /** Why this line is evidence, when that is not obvious. */
  note?: string;
}

/** Where a parsed value came from. Kept on every parsed element that has a line. */
export interface SourceRef {
  artifact: string;
  line: number;
}

export type IssueSeverity = 'error' | 'warning';

/** A problem found while reading an artifact: reported as `artifact:line: reason`, never thrown. */
export interface ParseIssue {
  artifact: string;
  /** 1-based; 0 when the issue concerns the whole artifact (e.g. "not an iptables-save dump"). */
  line: number;
  reason: string;
  severity: IssueSeverity;
}

export interface Parsed<T> {
  value: T;
  issues: ParseIssue[];
}

export function formatIssue(i: ParseIssue): string {
  return `${i.artifact}${i.line > 0 ? `:${i.line}` : ''}: ${i.severity}: ${i.reason}`;
}

/**
 * Collects issues for one artifact with a cap, so a garbage or binary input of a million lines
 * yields a readable report (the first issues plus a count) instead of a million objects.
 */
export class IssueSink {
  readonly issues: ParseIssue[] = [];
  private suppressed = 0;

  constructor(
    readonly artifact: string,
    private readonly cap = 200,
  ) {}

  error(line: number, reason: string): void {
    this.add(line, reason, 'error');
  }

  warn(line: number, reason: string): void {
    this.add(line, reason, 'warning');
  }

  private add(line: number, reason: string, severity: IssueSeverity): void {
    if (this.issues.length < this.cap) {
      this.issues.push({ artifact: this.artifact, line, reason: truncateForReport(reason), severity });
    } else {
      this.suppressed++;
    }
  }

  /** The issues, with one summary issue appended when the cap was hit. */
  finish(): ParseIssue[] {
    if (this.suppressed > 0) {
      this.issues.push({
        artifact: this.artifact,
        line: 0,
        reason: `${this.suppressed} more issues not shown`,
        severity: 'warning',
      });
      this.suppressed = 0;
    }
    return this.issues;
  }
}

/** Keeps reports readable when the offending input is a 10 MB line. */
export function truncateForReport(s: string, max = 160): string {
  const clean = s.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '\uFFFD');
  return clean.length > max ? `${clean.slice(0, max)}… (${clean.length} chars)` : clean;
}
