import { createHash } from 'node:crypto';
import { BUNDLE_FORMAT, type Manifest, type ManifestFile } from '../model/manifest.js';
import type { ParseIssue } from '../model/evidence.js';
import type { BundleSource } from './source.js';

export const MANIFEST_PATH = 'manifest.json';

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Reads and validates manifest.json when present. A broken manifest is an issue, not a failure: the files still load. */
export function readManifest(src: BundleSource): { manifest?: Manifest; issues: ParseIssue[] } {
  if (!src.has(MANIFEST_PATH)) return { issues: [] };
  const issues: ParseIssue[] = [];
  const issue = (reason: string, severity: 'error' | 'warning' = 'error') =>
    issues.push({ artifact: MANIFEST_PATH, line: 0, reason, severity });
  let raw: unknown;
  try {
    raw = JSON.parse(src.text(MANIFEST_PATH));
  } catch (e) {
    issue(`not valid JSON: ${(e as Error).message}`);
    return { issues };
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    issue('manifest is not a JSON object');
    return { issues };
  }
  const m = raw as Partial<Manifest>;
  if (m.format !== BUNDLE_FORMAT) issue(`format is ${JSON.stringify(m.format)}, expected "${BUNDLE_FORMAT}"`, 'warning');
  const files: ManifestFile[] = [];
  if (!Array.isArray(m.files)) {
    issue('"files" is missing or not an array');
  } else {
    m.files.forEach((f, i) => {
      if (!f || typeof f !== 'object' || typeof f.path !== 'string' || typeof f.sha256 !== 'string') {
        issue(`files[${i}] needs string "path" and "sha256"`);
      } else {
        files.push(f);
      }
    });
  }
  if (m.complete === false) issue('manifest says the collection did not complete: the bundle is partial', 'warning');
  return {
    manifest: { ...(m as Manifest), format: BUNDLE_FORMAT, createdAt: String(m.createdAt ?? ''), files },
    issues,
  };
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  mismatched: { path: string; expected: string; actual: string }[];
  missing: string[];
  /** Files in the bundle that the manifest does not list. */
  unlisted: string[];
}

/** `caliscope bundle verify`: every listed file exists and has the recorded sha256. */
export function verifyManifest(src: BundleSource, manifest: Manifest): VerifyResult {
  const res: VerifyResult = { ok: true, checked: 0, mismatched: [], missing: [], unlisted: [] };
  const listed = new Set<string>();
  for (const f of manifest.files) {
    listed.add(f.path);
    if (!src.has(f.path)) {
      res.missing.push(f.path);
      continue;
    }
    res.checked++;
    const actual = sha256(src.bytes(f.path));
    if (actual !== f.sha256.toLowerCase()) res.mismatched.push({ path: f.path, expected: f.sha256, actual });
  }
  for (const p of src.paths()) if (p !== MANIFEST_PATH && !listed.has(p)) res.unlisted.push(p);
  res.ok = res.mismatched.length === 0 && res.missing.length === 0;
  return res;
}
