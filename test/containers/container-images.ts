// Which images the container tests run: named by the environment when set; else the local images
// that deploy/scripts/prepare-local-images.sh builds, when this engine has them (a machine with no
// registry); else the public images (a machine with one).
import { docker } from './docker-cli.js';

/** One image and why it was chosen. */
export interface ChosenImage {
  readonly name: string;
  readonly from: 'env' | 'local' | 'public';
}

/** The images of the compose stack. */
export interface StackImages {
  readonly postgres: ChosenImage;
  readonly nats: ChosenImage;
  /** The Node 20 base of deploy/Dockerfile. */
  readonly node: ChosenImage;
}

const CHOICES = {
  postgres: { env: 'RATCHET_POSTGRES_IMAGE', local: 'ratchet-local/postgres:15', public: 'postgres:15' },
  nats: { env: 'RATCHET_NATS_IMAGE', local: 'ratchet-local/nats:2.9', public: 'nats:2.12-alpine' },
  node: { env: 'RATCHET_NODE_IMAGE', local: 'ratchet-local/node:20', public: 'node:20-bookworm-slim' },
} as const;

async function hasImage(name: string): Promise<boolean> {
  return docker(['image', 'inspect', '--format', '{{.Id}}', name]).then(
    () => true,
    () => false,
  );
}

async function choose(which: keyof typeof CHOICES): Promise<ChosenImage> {
  const c = CHOICES[which];
  const given = process.env[c.env];
  if (given !== undefined && given !== '') return { name: given, from: 'env' };
  if (await hasImage(c.local)) return { name: c.local, from: 'local' };
  return { name: c.public, from: 'public' };
}

/** Resolve the stack's images (see the file comment). */
export async function chooseStackImages(): Promise<StackImages> {
  const [postgres, nats, node] = await Promise.all([choose('postgres'), choose('nats'), choose('node')]);
  return { postgres, nats, node };
}

/** "postgres ratchet-local/postgres:15 (local), …" for the log. */
export function describeImages(images: StackImages): string {
  return Object.entries(images)
    .map(([k, v]: [string, ChosenImage]) => `${k} ${v.name} (${v.from})`)
    .join(', ');
}
