// deploy/k8s against the Kubernetes API schemas (kubernetes-models validates each object with the
// OpenAPI schema of its kind, offline), and in step with deploy/compose: no Kubernetes cluster can
// run on the build machines (no registry for its images, no kubelet package), so this is what
// stands in for `kubectl apply` there; see deploy/README.md.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

/** A parsed manifest: the schema of its kind checks the rest, so only what picks that schema is typed here. */
interface Manifest {
  readonly apiVersion?: unknown;
  readonly kind?: unknown;
  readonly metadata?: { readonly name?: string };
  readonly [field: string]: unknown;
}

/** The part of deploy/compose/compose.yaml read below. */
interface Compose {
  readonly services: Record<string, { readonly environment: Record<string, string | number | boolean> }>;
}

const MODELS: Record<string, new (doc: Manifest) => { validate(): void }> = {
  'apps/v1 Deployment': Deployment as never,
  'v1 ConfigMap': ConfigMap as never,
  'v1 Secret': Secret as never,
  'v1 Service': Service as never,
};

function docs<T = Manifest>(path: string): T[] {
  return parseAllDocuments(readFileSync(path, 'utf8'), { merge: true }).map((d) => d.toJS({ maxAliasCount: 100 }) as T);
}

const manifests = readdirSync('deploy/k8s')
  .filter((f) => f.endsWith('.yaml') && f !== 'nats-values.yaml' && f !== 'kustomization.yaml')
  .flatMap((f) => docs(join('deploy/k8s', f)).map((doc) => ({ file: f, doc })));

describe('deploy/k8s', () => {
  it.each(
    manifests.map((m) => [`${m.file}: ${String(m.doc.kind)} ${String(m.doc.metadata?.name)}`, m.doc] as const),
  )('%s is valid for its Kubernetes schema', (_name, doc) => {
    const Model = MODELS[`${String(doc.apiVersion)} ${String(doc.kind)}`];
    expect(Model, `no schema known for ${String(doc.apiVersion)} ${String(doc.kind)}`).toBeDefined();
    expect(() => new Model!(doc).validate()).not.toThrow();
  });

  it('the schema check catches a wrong type (so a pass above means something)', () => {
    const deployment = structuredClone(manifests.find((m) => m.doc.kind === 'Deployment')!.doc) as IDeployment;
    Object.assign(deployment.spec!.template.spec!.containers[0]!.ports![0]!, { containerPort: 'eighty' });
    expect(() => new Deployment(deployment).validate()).toThrow(/containerPort/);
  });

  it("runs the workers with the compose file's cluster settings (partitions, mode, JetStream replicas)", () => {
    const compose = docs<Compose>('deploy/compose/compose.yaml')[0]!;
    const workerEnv = compose.services['worker-1']!.environment;
    const configMap = manifests.find((m) => m.doc.kind === 'ConfigMap' && m.doc.metadata?.name === 'ratchet-worker-config')!
      .doc as IConfigMap;
    const config = configMap.data!;
    for (const key of ['RATCHET_PARTITIONS', 'CLUSTER_MODE', 'JETSTREAM_REPLICAS']) {
      expect(config[key], key).toBeDefined();
      expect(config[key], key).toBe(String(workerEnv[key]));
    }
    expect(config.JETSTREAM_REPLICAS).toBe('3');
  });
});
