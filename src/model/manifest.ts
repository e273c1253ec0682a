/** The bundle manifest (`manifest.json`), format `caliscope-bundle/1`. Specified in docs/bundle.md. */
export const BUNDLE_FORMAT = 'caliscope-bundle/1';

export interface ManifestFile {
  /** Bundle-relative POSIX path. */
  path: string;
  sha256: string;
  size?: number;
  /** The command that produced the file, as run (e.g. `iptables-save -c`), or the API request. */
  command?: string;
  exitCode?: number;
  /** First few KB of the command's stderr, if any. */
  stderr?: string;
  durationMs?: number;
  /** True when the collector stopped reading at its size limit. */
  truncated?: boolean;
  /** True when secrets were removed from this file. */
  redacted?: boolean;
}

export interface ManifestFailure {
  /** Node name or resource ("node/worker-3", "crd/ipamblocks"). */
  target: string;
  command?: string;
  error: string;
}

export interface Manifest {
  format: typeof BUNDLE_FORMAT;
  createdAt: string;
  tool?: string;
  /** How the bundle was made. */
  source?: { kind: 'node' | 'cluster' | 'etcd' | 'lab' | 'manual' | string; [k: string]: unknown };
  /** False while a collection is still being written (a crash leaves this false). */
  complete?: boolean;
  files: ManifestFile[];
  failures?: ManifestFailure[];
  /** Free-form notes the collector wants a reader to see (e.g. "nft backend holds Calico's rules"). */
  notes?: string[];
}
