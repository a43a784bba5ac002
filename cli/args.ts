// Argument handling the CLIs share: strict parsing, zod validation with the flag named, and usage errors.
import { parseArgs } from 'node:util';
import type * as z from 'zod';
import { describeZodError } from '../shared/protocol/errors.js';

/** Bad arguments: reported with the usage, exit code 2. */
export class UsageError extends Error {}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

/** Parses `args` strictly against `options`; unknown flags are a UsageError. */
export function parse<O extends Options>(args: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Validates parsed values; a failure is a UsageError naming the field after `prefix` (e.g. `--`). */
export function validate<S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new UsageError(`${prefix}${describeZodError(r.error).replace(/^\(root\): /, '')}`);
  return r.data;
}

/** Runs a CLI's commands: 0 ok, 1 failed, 2 bad arguments (with the usage). */
export async function runCli(name: string, usage: string, argv: string[], commands: Record<string, (args: string[]) => Promise<number>>): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === undefined) throw new UsageError('a command is required');
    if (command === 'help' || command === '--help' || command === '-h') {
      console.log(usage);
      return 0;
    }
    const run = commands[command];
    if (!run) throw new UsageError(`unknown command "${command}"`);
    return await run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${name}: ${e.message}\n${usage}`);
      return 2;
    }
    console.error(`${name}: ${(e as Error).message ?? e}`);
    return 1;
  }
}
