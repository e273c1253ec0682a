import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startReplayServer } from './test/collect/k8s-replay.js';
const ex = promisify(execFile);
const srv = await startReplayServer('crd');
try {
  const r = await ex('bash', ['scripts/fixtures/record-k8s-api.sh', '/tmp/csf-rec-out'], { env: { ...process.env, KUBECONFIG: srv.kubeconfig } });
  console.log(r.stdout, r.stderr.slice(0, 2000));
} catch (e: any) { console.log('ERR', e.stdout, e.stderr); }
await srv.close();
