/**
 * The one door through which collectors write into a bundle. Everything passes redaction (on by
 * default) and, with `--anonymize`, the Anonymizer — file contents, paths, stderr excerpts,
 * failure messages and notes — so no collector can forget to.
 */
import { stringify as yamlStringify } from 'yaml';
import type { ManifestFailure, ManifestFile } from '../model/manifest.js';
import type { Anonymizer } from './anonymize.js';
import type { BundleWriter } from './bundle-writer.js';
import { redactObject, redactText } from './redact.js';

export interface SinkOptions {
  /** Remove secrets (default true). Turning it off is for debugging the collector only. */
  redact?: boolean;
  anonymizer?: Anonymizer;
  /**
   * Serialisation of object lists: `yaml` always, `json` always, or `auto` (default): YAML up to
   * `jsonAboveItems` items, JSON above (the YAML serialiser is ~50x slower on 100k-pod lists).
   */
  format?: 'yaml' | 'json' | 'auto';
  jsonAboveItems?: number;
}

export type FileMeta = Omit<ManifestFile, 'path' | 'sha256' | 'size' | 'redacted'>;

export interface KubeList {
  apiVersion: string;
  kind: 'List';
  metadata: { resourceVersion: string };
  items: unknown[];
}

export class BundleSink {
  readonly redact: boolean;
  readonly anonymizer: Anonymizer | undefined;
  private readonly format: 'yaml' | 'json' | 'auto';
  private readonly jsonAboveItems: number;
  /** Bytes written through this sink (after redaction). */
  bytes = 0;

  constructor(
    readonly writer: BundleWriter,
    opts: SinkOptions = {},
  ) {
    this.redact = opts.redact ?? true;
    this.anonymizer = opts.anonymizer;
    this.format = opts.format ?? 'auto';
    this.jsonAboveItems = opts.jsonAboveItems ?? 5000;
  }

  /** Sanitises free text (redaction, then anonymization). */
  cleanText(s: string): { text: string; redactions: number } {
    let text = s;
    let redactions = 0;
    if (this.redact) {
      const r = redactText(text);
      text = r.value;
      redactions = r.count;
    }
    if (this.anonymizer) text = this.anonymizer.text(text);
    return { text, redactions };
  }

  path(rel: string): string {
    return this.anonymizer ? this.anonymizer.path(rel) : rel;
  }

  private cleanMeta(meta: FileMeta): FileMeta {
    const m = { ...meta };
    if (m.stderr) m.stderr = this.cleanText(m.stderr).text;
    if (m.command) m.command = this.cleanText(m.command).text;
    return m;
  }

  /** Writes raw command output or a log. Returns the bundle path written. */
  async text(rel: string, data: string | Buffer, meta: FileMeta = {}): Promise<string> {
    const p = this.path(rel);
    let buf: Buffer;
    let redactions = 0;
    if (!this.redact && !this.anonymizer) {
      buf = typeof data === 'string' ? Buffer.from(data) : data;
    } else {
      const original = typeof data === 'string' ? data : data.toString('utf8');
      const c = this.cleanText(original);
      redactions = c.redactions;
      buf = c.text === original && typeof data !== 'string' ? data : Buffer.from(c.text);
    }
    this.bytes += buf.length;
    await this.writer.writeFile(p, buf, { ...this.cleanMeta(meta), ...(redactions > 0 ? { redacted: true } : {}) });
    return p;
  }

  /** Writes a List the way `kubectl get -o yaml` prints it (apiVersion/kind on every item). */
  async list(rel: string, list: KubeList, meta: FileMeta = {}): Promise<string> {
    let value: KubeList = list;
    let redactions = 0;
    if (this.redact) {
      const r = redactObject(value);
      value = r.value;
      redactions = r.count;
    }
    if (this.anonymizer) {
      this.anonymizer.learnFromObject(value);
      value = this.anonymizer.object(value);
    }
    const json = this.format === 'json' || (this.format === 'auto' && list.items.length > this.jsonAboveItems);
    const p = this.path(json ? rel.replace(/\.ya?ml$/, '.json') : rel);
    const body = json ? `${JSON.stringify(value, null, 1)}\n` : yamlStringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
    // Belt and braces: a secret shaped in a way the structural pass did not know is still caught as text.
    const final = this.redact ? redactText(body) : { value: body, count: 0 };
    const buf = Buffer.from(final.value);
    this.bytes += buf.length;
    await this.writer.writeFile(p, buf, { ...this.cleanMeta(meta), ...(redactions + final.count > 0 ? { redacted: true } : {}) });
    return p;
  }

  failure(f: ManifestFailure): void {
    this.writer.recordFailure({
      target: this.anonymizer ? this.anonymizer.text(this.path(f.target)) : f.target,
      ...(f.command ? { command: this.cleanText(f.command).text } : {}),
      error: this.cleanText(f.error).text,
    });
  }

  note(s: string): void {
    this.writer.note(this.cleanText(s).text);
  }
}
