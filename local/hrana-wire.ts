// The JSON shapes of Hrana over HTTP (v2 pipeline), validated with zod at the border.
import * as z from 'zod';
import { describeZodError } from '../shared/protocol/errors.js';

/** A request the server refuses as a whole (HTTP status) rather than per statement. */
export class HranaRequestError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const ValueSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('null') }),
  z.object({ type: z.literal('integer'), value: z.string().regex(/^-?\d+$/) }),
  z.object({ type: z.literal('float'), value: z.number() }),
  z.object({ type: z.literal('text'), value: z.string() }),
  z.object({ type: z.literal('blob'), base64: z.string() }),
]);
export type HranaValue = z.infer<typeof ValueSchema>;

const StmtSchema = z.object({
  sql: z.string().optional(),
  sql_id: z.number().int().optional(),
  args: z.array(ValueSchema).optional(),
  named_args: z.array(z.object({ name: z.string(), value: ValueSchema })).optional(),
  want_rows: z.boolean().optional(),
});
export type HranaStmt = z.infer<typeof StmtSchema>;

export type BatchCond =
  | { type: 'ok'; step: number }
  | { type: 'error'; step: number }
  | { type: 'not'; cond: BatchCond }
  | { type: 'and'; conds: BatchCond[] }
  | { type: 'or'; conds: BatchCond[] }
  | { type: 'is_autocommit' };

const BatchCondSchema: z.ZodType<BatchCond> = z.lazy(() =>
  z.discriminatedUnion('type', [
    z.object({ type: z.literal('ok'), step: z.number().int().min(0) }),
    z.object({ type: z.literal('error'), step: z.number().int().min(0) }),
    z.object({ type: z.literal('not'), cond: BatchCondSchema }),
    z.object({ type: z.literal('and'), conds: z.array(BatchCondSchema) }),
    z.object({ type: z.literal('or'), conds: z.array(BatchCondSchema) }),
    z.object({ type: z.literal('is_autocommit') }),
  ]),
);

const StreamRequestSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('close') }),
  z.object({ type: z.literal('execute'), stmt: StmtSchema }),
  z.object({
    type: z.literal('batch'),
    batch: z.object({ steps: z.array(z.object({ condition: BatchCondSchema.nullish(), stmt: StmtSchema })) }),
  }),
  z.object({ type: z.literal('sequence'), sql: z.string().optional(), sql_id: z.number().int().optional() }),
  z.object({ type: z.literal('describe'), sql: z.string().optional(), sql_id: z.number().int().optional() }),
  z.object({ type: z.literal('store_sql'), sql_id: z.number().int(), sql: z.string() }),
  z.object({ type: z.literal('close_sql'), sql_id: z.number().int() }),
  z.object({ type: z.literal('get_autocommit') }),
]);
export type StreamRequest = z.infer<typeof StreamRequestSchema>;

const PipelineBodySchema = z.object({
  baton: z.string().nullish(),
  requests: z.array(StreamRequestSchema),
});

/** Validates a pipeline request body, or throws a 400 naming the bad field. */
export function parsePipelineBody(body: unknown): z.infer<typeof PipelineBodySchema> {
  const r = PipelineBodySchema.safeParse(body);
  if (!r.success) throw new HranaRequestError(`bad pipeline request: ${describeZodError(r.error)}`, 'PROTOCOL', 400);
  return r.data;
}

/** A Hrana value as the engine binds it (integers as BigInt so 64-bit values stay exact). */
export function decodeValue(v: HranaValue): unknown {
  switch (v.type) {
    case 'null':
      return null;
    case 'integer':
      return BigInt(v.value);
    case 'float':
      return v.value;
    case 'text':
      return v.value;
    case 'blob':
      return Buffer.from(v.base64, 'base64');
  }
}

/** An engine value as Hrana JSON; with safe integers on, numbers are always REALs. */
export function encodeValue(v: unknown): HranaValue {
  if (v === null || v === undefined) return { type: 'null' };
  if (typeof v === 'bigint') return { type: 'integer', value: v.toString() };
  if (typeof v === 'number') return { type: 'float', value: v };
  if (typeof v === 'string') return { type: 'text', value: v };
  if (v instanceof Uint8Array) return { type: 'blob', base64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  return { type: 'text', value: String(v) };
}
