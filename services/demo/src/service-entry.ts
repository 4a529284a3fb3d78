import { fileURLToPath } from 'node:url';

/** The service processes the demo starts, by package. */
export type DemoService = 'worker' | 'projector' | 'gateway' | 'dashboard';

const PACKAGES: Readonly<Record<DemoService, string>> = {
  worker: '@ratchet/worker-service/main',
  projector: '@ratchet/projector-service/main',
  gateway: '@ratchet/gateway-service/main',
  dashboard: '@ratchet/dashboard/main',
};

/**
 * A service's entry point, resolved through its package's exports like any dependency: its
 * TypeScript source in this repository (the "source" condition, run with tsx), its build where the
 * packages were installed from a registry or tarballs (plain node). So `ratchet dev` runs the same
 * processes in a checkout and in a user's project.
 */
export function serviceEntry(service: DemoService): string {
  return fileURLToPath(import.meta.resolve(PACKAGES[service]));
}
