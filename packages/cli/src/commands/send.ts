import { connectClient, type SendResult } from '@ratchet/client';
import { COMMAND_ID_PATTERN } from '@ratchet/transport-nats';
import { z } from 'zod';
import { usageError } from '../cli-error.js';
import type { CliContext } from '../cli-context.js';
import type { CommandFlags } from '../command-spec.js';
import { connectNats } from '../connections.js';
import { ExitCode } from '../exit-code.js';
import { formatJsonCell, formatTable } from '../format-table.js';
import { checkId } from '../check-id.js';
import { aggregateNamed } from '../registry.js';

/** `ratchet send <aggregate> <id> <command> [payload-json]`: one command, its reply printed. */
export async function runSend(ctx: CliContext, positionals: readonly string[], flags: CommandFlags): Promise<number> {
  const [type, id, commandType, payloadText, ...extra] = positionals;
  if (type === undefined || id === undefined || commandType === undefined || extra.length > 0) {
    throw usageError(`usage: ratchet send <aggregate> <id> <command> [payload-json] [--command-id X] [--expected-version N]`);
  }
  const aggregate = aggregateNamed(type);
  checkId(id);
  if (!Object.hasOwn(aggregate.commands, commandType)) {
    throw usageError(`aggregate ${type} has no command "${commandType}" (known: ${Object.keys(aggregate.commands).join(', ')})`);
  }
  const payload = parsePayload(payloadText);
  const commandId = flags['command-id'];
  if (typeof commandId === 'string' && !COMMAND_ID_PATTERN.test(commandId)) {
    throw usageError(`--command-id must match ${COMMAND_ID_PATTERN.source}`);
  }
  const expected = flags['expected-version'];
  let expectedVersion: number | undefined;
  if (typeof expected === 'string') {
    const parsed = z.coerce.number().int().min(0).safeParse(expected);
    if (!parsed.success) throw usageError(`--expected-version must be an integer ≥ 0, got "${expected}"`);
    expectedVersion = parsed.data;
  }

  const nc = await connectNats(ctx.options);
  try {
    const client = await connectClient({ connection: nc, partitionCount: ctx.options.partitions, timeoutMs: ctx.options.timeoutMs });
    const result = await client.sendRaw(type, id, { type: commandType, payload }, {
      ...(typeof commandId === 'string' ? { commandId } : {}),
      ...(expectedVersion === undefined ? {} : { expectedVersion }),
    });
    printResult(ctx, `${type}/${id}`, result);
    return result.status === 'ok' ? ExitCode.OK : ExitCode.FAILED;
  } finally {
    await nc.close().catch(() => undefined);
  }
}

function parsePayload(text: string | undefined): unknown {
  if (text === undefined) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw usageError(`payload is not JSON: ${(error as Error).message}`, { cause: error });
  }
}

function printResult(ctx: CliContext, stream: string, result: SendResult): void {
  if (ctx.options.json) {
    const body =
      result.status === 'error'
        ? { status: 'error', error: result.error.toJSON(), commandId: result.commandId, attempts: result.attempts }
        : result;
    ctx.out(JSON.stringify(body));
    return;
  }
  switch (result.status) {
    case 'ok': {
      const dup = result.duplicate ? ' (duplicate: committed before, nothing new written)' : '';
      ctx.out(`ok  ${stream} at version ${result.version}${dup}  command ${result.commandId}`);
      if (result.events.length > 0) {
        ctx.out(formatTable(['VERSION', 'TYPE', 'DATA'], result.events.map((e) => [String(e.version), e.type, formatJsonCell(e.data)])));
      }
      return;
    }
    case 'rejected':
      ctx.out(`rejected  ${stream} at version ${result.version}: ${result.reason}`);
      return;
    case 'error':
      ctx.out(`error ${result.error.code}: ${result.error.message}${result.error.retryable ? ' (retryable)' : ''}`);
  }
}
