// Until the launchers land: use DATABASE_URL / NATS_URL or the machine's defaults.
export default function setup(): void {
  process.env['DATABASE_URL'] ??= 'postgres://postgres@127.0.0.1:5432/postgres';
  process.env['NATS_URL'] ??= 'nats://127.0.0.1:4222';
}
