import { connectClient, type SendResult } from '@ratchet/client';
import { RatchetError, type AnyAggregate } from '@ratchet/core';
import { COMMAND_ID_PATTERN } from '@ratchet/transport-nats';
import { z } from 'zod';
import { loadCliApp } from '../cli-app.js';
import { usageError } from '../cli-error.js';
import type { CliContext } from '../cli-context.js';
import type { CommandFlags } from '../command-spec.js';
import { connectNats } from '../connections.js';
import { ExitCode } from '../exit-code.js';
import { formatJsonCell, formatTable } from '../format-table.js';
import { checkId } from '../check-id.js';
import { aggregateNamed, commandTypesOf } from '../registry.js';

/**
 * `ratchet send <aggregate> <id> <command> [payload-json]`: one command, its reply printed. With an
 * app known, the type, the command and the payload are checked against it first (the payload with
 * the command's zod schema: VALIDATION_FAILED with every issue, exit 2, nothing sent); without
 * one, the command goes as typed and the worker checks it.
 */
export async function runSend(ctx: CliContext, positionals: readonly string[], flags: CommandFlags): Promise<number> {
  const [type, id, commandType, payloadText, ...extra] = positionals;
  if (type === undefined || id === undefined || commandType === undefined || extra.length > 0) {
    throw usageError(`usage: ratchet send <aggregate> <id> <command> [payload-json] [--command-id X] [--expected-version N]`);
  }
  const app = await loadCliApp(ctx);
  const aggregate = app === undefined ? undefined : aggregateNamed(app, type);
  checkId(id);
  if (aggregate !== undefined && !commandTypesOf(aggregate).includes(commandType)) {
    throw usageError(`aggregate ${type} has no command "${commandType}" (it has: ${commandTypesOf(aggregate).join(', ')})`);
  }
  const payload = parsePayload(payloadText);
  const invalid = aggregate === undefined ? undefined : validationFailure(aggregate, commandType, payload);
  if (invalid !== undefined) {
    printNotSent(ctx, `${type}/${id}`, invalid);
    return ExitCode.USAGE;
  }
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
    const result = await client.sendRaw(
      type,
      id,
      { type: commandType, payload },
      {
        ...(typeof commandId === 'string' ? { commandId } : {}),
        ...(expectedVersion === undefined ? {} : { expectedVersion }),
      },
    );
    printResult(ctx, `${type}/${id}`, result);
    return result.status === 'ok' ? ExitCode.OK : ExitCode.FAILED;
  } finally {
    await nc.close().catch(() => undefined);
  }
}

/** The command's schema refusing the payload, as the worker would (VALIDATION_FAILED); undefined when it passes. */
function validationFailure(aggregate: AnyAggregate, commandType: string, payload: unknown): RatchetError | undefined {
  try {
    aggregate.runtime.parseCommand({ type: commandType, payload });
    return undefined;
  } catch (error) {
    if (error instanceof RatchetError) return error;
    throw error;
  }
}

/** A command the app's schema refused: the error as a reply would carry it, and that nothing was sent. */
function printNotSent(ctx: CliContext, stream: string, error: RatchetError): void {
  if (ctx.options.json) {
    ctx.out(JSON.stringify({ status: 'error', error: error.toJSON(), sent: false }));
    return;
  }
  const issues = (error.details.issues as ReadonlyArray<{ path: ReadonlyArray<string | number>; message: string }> | undefined) ?? [];
  ctx.out(`error ${error.code}: ${stream} not sent: the payload does not fit the command's schema`);
  for (const issue of issues) ctx.out(`  ${issue.path.length > 0 ? issue.path.join('.') : '(payload)'}: ${issue.message}`);
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
        ctx.out(
          formatTable(
            ['VERSION', 'TYPE', 'DATA'],
            result.events.map((e) => [String(e.version), e.type, formatJsonCell(e.data)]),
          ),
        );
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
