// Every deploy/ manifest parses, and each service's environment passes that service's own zod
// config schema, so a renamed or mistyped variable fails here instead of at rollout.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DashboardConfigSchema } from '@ratchet/dashboard';
import { GatewayConfigSchema } from '@ratchet/gateway-service';
import { ProjectorConfigSchema } from '@ratchet/projector-service';
import { WorkerConfigSchema } from '@ratchet/worker-service';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';

type Doc = Record<string, unknown>;

/** The manifests of deploy/k8s read below, by kind. */
interface Kinds {
  readonly Deployment: IDeployment;
  readonly Service: IService;
  readonly ConfigMap: IConfigMap;
  readonly Secret: ISecret;
}

/** The part of deploy/k8s/nats-values.yaml (the Helm chart's values) read below. */
interface NatsValues {
  readonly config: { readonly cluster: unknown; readonly jetstream: unknown };
}

const SCHEMAS: Record<string, z.ZodType> = {
  'services/worker/src/main.ts': WorkerConfigSchema,
  'services/projector/src/main.ts': ProjectorConfigSchema,
  'services/dashboard/src/main.ts': DashboardConfigSchema,
  'services/gateway/src/main.ts': GatewayConfigSchema,
};

function parseYaml<T = Doc>(path: string): T[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'), { merge: true });
  return docs.map((d) => {
    expect(d.errors, `${path}: ${d.errors.map((e) => e.message).join('; ')}`).toEqual([]);
    return d.toJS({ maxAliasCount: 100 }) as T;
  });
}

function schemaIssues(entry: string, env: Record<string, string>): string[] {
  const schema = SCHEMAS[entry];
  expect(schema, `no config schema known for ${entry}`).toBeDefined();
  const parsed = schema!.safeParse(env);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('deploy/compose/compose.yaml', () => {
  const [compose] = parseYaml('deploy/compose/compose.yaml');
  const services = compose!.services as Record<string, Doc>;

  it('has a 3-node NATS cluster, Postgres, 3 workers, a projector, the dashboard and the gateway', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['dashboard', 'gateway', 'migrate', 'nats-1', 'nats-2', 'nats-3', 'postgres', 'projector', 'worker-1', 'worker-2', 'worker-3'].sort(),
    );
  });

  it("passes each app service's environment through its config schema", () => {
    const checked: string[] = [];
    for (const [name, service] of Object.entries(services)) {
      const entry = (service.command as string[] | undefined)?.[0];
      if (entry === undefined || !entry.startsWith('services/')) continue;
      const env = Object.fromEntries(Object.entries(service.environment as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
      expect(schemaIssues(entry, env), name).toEqual([]);
      expect(readdirSync(join(entry, '..')), `${entry} exists`).toContain('main.ts');
      checked.push(name);
    }
    expect(checked.sort()).toEqual(['dashboard', 'gateway', 'projector', 'worker-1', 'worker-2', 'worker-3']);
    const ids = ['worker-1', 'worker-2', 'worker-3'].map((w) => (services[w]!.environment as Doc).WORKER_ID);
    expect(new Set(ids).size).toBe(3);
  });

  it('mounts each NATS node its own config file', () => {
    for (const i of [1, 2, 3]) {
      expect(services[`nats-${i}`]!.command).toEqual(['-c', `/etc/nats/nats-${i}.conf`]);
      expect(readFileSync(`deploy/nats/nats-${i}.conf`, 'utf8')).toMatch(/sync_interval: always/);
    }
  });
});

describe('deploy/k8s', () => {
  const docs = readdirSync('deploy/k8s')
    .filter((f) => f.endsWith('.yaml') && f !== 'nats-values.yaml' && f !== 'kustomization.yaml')
    .flatMap((f) => parseYaml<Kinds[keyof Kinds]>(join('deploy/k8s', f)));
  const byKind = <K extends keyof Kinds>(kind: K): Kinds[K][] => docs.filter((d) => d.kind === kind) as Kinds[K][];
  const dataOf = (kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> => {
    const doc: IConfigMap | ISecret | undefined = byKind(kind).find((d) => d.metadata?.name === name);
    expect(doc, `${kind} ${name}`).toBeDefined();
    return { ...(doc!.data ?? {}), ...('stringData' in doc! ? doc.stringData : {}) };
  };
  const deployment = (name: string) => byKind('Deployment').find((d) => d.metadata?.name === name)!;

  it('lists every manifest in the kustomization', () => {
    const [k] = parseYaml('deploy/k8s/kustomization.yaml');
    const files = readdirSync('deploy/k8s').filter((f) => f.endsWith('.yaml') && f !== 'nats-values.yaml' && f !== 'kustomization.yaml');
    expect([...(k!.resources as string[])].sort()).toEqual(files.sort());
  });

  it("passes each Deployment's environment (ConfigMap + Secret + env) through its config schema", () => {
    const names = byKind('Deployment').map((d) => d.metadata!.name!);
    expect(names.sort()).toEqual(['ratchet-dashboard', 'ratchet-gateway', 'ratchet-projector', 'ratchet-worker']);
    for (const d of byKind('Deployment')) {
      const container = d.spec!.template.spec!.containers[0]!;
      const env: Record<string, string> = {};
      for (const from of container.envFrom ?? []) {
        if (from.configMapRef) Object.assign(env, dataOf('ConfigMap', from.configMapRef.name!));
        if (from.secretRef) Object.assign(env, dataOf('Secret', from.secretRef.name!));
      }
      for (const e of container.env ?? []) env[e.name] = e.value ?? (e.valueFrom ? 'from-field-ref' : '');
      expect(schemaIssues(container.args![0]!, env), d.metadata!.name).toEqual([]);
    }
  });

  it('probes the worker on /readyz and /healthz and gives it longer than DRAIN_TIMEOUT_MS to stop', () => {
    const spec = deployment('ratchet-worker').spec!.template.spec!;
    const container = spec.containers[0]!;
    expect(container.readinessProbe!.httpGet!.path).toBe('/readyz');
    expect(container.livenessProbe!.httpGet!.path).toBe('/healthz');
    expect(container.lifecycle!.preStop).toBeDefined();
    const drainMs = Number(dataOf('ConfigMap', 'ratchet-worker-config').DRAIN_TIMEOUT_MS);
    expect(spec.terminationGracePeriodSeconds! * 1000).toBeGreaterThan(drainMs + 5_000);
  });

  it('probes the gateway on /readyz and /healthz and gives it longer than DRAIN_TIMEOUT_MS to stop', () => {
    const spec = deployment('ratchet-gateway').spec!.template.spec!;
    const container = spec.containers[0]!;
    expect(container.readinessProbe!.httpGet!.path).toBe('/readyz');
    expect(container.livenessProbe!.httpGet!.path).toBe('/healthz');
    const drainMs = Number(dataOf('ConfigMap', 'ratchet-gateway-config').DRAIN_TIMEOUT_MS);
    expect(spec.terminationGracePeriodSeconds! * 1000).toBeGreaterThan(drainMs + 2_000);
  });

  it('exposes the dashboard through a Service on its container port', () => {
    const service = byKind('Service').find((s) => s.metadata?.name === 'ratchet-dashboard')!;
    expect(service.spec!.selector).toEqual(deployment('ratchet-dashboard').spec!.selector.matchLabels);
    expect(service.spec!.ports![0]!.targetPort).toBe('http');
  });

  it('runs NATS from the Helm chart with 3 replicas and JetStream file storage', () => {
    const [values] = parseYaml<NatsValues>('deploy/k8s/nats-values.yaml');
    expect(values!.config.cluster).toMatchObject({ enabled: true, replicas: 3 });
    expect(values!.config.jetstream).toMatchObject({ enabled: true, fileStore: { enabled: true } });
  });
});
