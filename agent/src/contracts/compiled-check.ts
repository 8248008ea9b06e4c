/**
 * A fast yes/no check compiled from a zod schema, so the hub's ingest path validates a report without zod's
 * per-value parse machinery (contexts, issue lists, a copy of every object) while the schema stays the only
 * definition of the contract (docs/hub.md "Validation").
 *
 * The compiled check says `true` only where zod itself accepts the value unchanged; when it says `false` the
 * caller asks zod for the issues (one rule, one set of messages). It is built node by node from the schema:
 *   - objects (unknown keys stripped, as zod's default: extra fields are ignored) as generated code, one
 *     function per object schema reading its fields by name with the leaf checks written in place (about 2.5×
 *     faster than a closure per field on a report); arrays with their length bounds, enums, literals, nullable
 *     and optional wrappers, booleans;
 *   - numbers with their int / min / max / finite checks, read from the schema's own check list; these leaves
 *     (with booleans, null, literals, enums and their nullable / optional wrappers) have one form, the generated
 *     source, inlined in an object's check or compiled on its own;
 *   - strings with checks (ip, uuid, datetime, regex, length): zod's own check, remembered per distinct string
 *     (addresses, names and zones repeat in every report), so the rule is zod's and never a copy of it;
 *   - refinements (`.refine`): the inner node's check, then zod's for the whole node.
 * A node that would change the value (transforms, defaults, coercion, trimming) or that this compiler does not
 * know makes `compileCheck` throw: the caller then has no fast path to trust, and a test fails at once.
 */
import { z, type ZodTypeAny } from 'zod';

export type Check = (value: unknown) => boolean;

/** Distinct strings remembered per string node (cleared when full: a bound on memory, never on correctness). */
const MEMO_MAX = 32_768;
/** Only strings this short are remembered (addresses, ids, timestamps, zones): a sender cannot fill the memo with
 * long names, and the long ones seldom repeat. */
const MEMO_LENGTH = 64;

const K = z.ZodFirstPartyTypeKind;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    return false;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function refuse(schema: ZodTypeAny, why: string): never {
  throw new Error(`compileCheck: cannot compile ${String(schema._def.typeName)} (${why})`);
}

/** A number node's bounds and kinds, read from the schema's own check list. */
function numberRule(schema: z.ZodNumber) {
  if (schema._def.coerce) {
    refuse(schema, 'coercion changes the value');
  }
  let int = false;
  let finite = false;
  let min = -Infinity;
  let minInclusive = true;
  let max = Infinity;
  let maxInclusive = true;
  for (const c of schema._def.checks) {
    switch (c.kind) {
      case 'int':
        int = true;
        break;
      case 'finite':
        finite = true;
        break;
      case 'min':
        if (c.value > min || (c.value === min && !c.inclusive)) {
          min = c.value;
          minInclusive = c.inclusive;
        }
        break;
      case 'max':
        if (c.value < max || (c.value === max && !c.inclusive)) {
          max = c.value;
          maxInclusive = c.inclusive;
        }
        break;
      default:
        refuse(schema, `number check '${c.kind}'`);
    }
  }
  return { int, finite, min, minInclusive, max, maxInclusive };
}

/** A number as JavaScript source (the bounds are numbers the schema holds: finite or ±Infinity, never NaN). */
function numberSource(n: number): string {
  if (Number.isNaN(n)) {
    throw new Error('compileCheck: NaN bound');
  }
  return n === Infinity ? 'Infinity' : n === -Infinity ? '-Infinity' : String(n);
}

/**
 * The check of `schema` on the variable `x` as a JavaScript expression, for the object checks' generated code:
 * the leaves (numbers, literals, enums, null, booleans, plain strings, and nullable / optional of them) written
 * out in place, anything else a call of its own compiled check, held in `ext` (`E[i]` in the source). The one
 * form of these rules: `compileCheck` compiles a leaf from this source too (`sourceCheck`).
 */
function inlineSource(schema: ZodTypeAny, x: string, ext: unknown[]): string {
  const def = schema._def as { typeName?: z.ZodFirstPartyTypeKind };
  const external = (value: unknown): string => `E[${ext.push(value) - 1}]`;
  switch (def.typeName) {
    case K.ZodNumber: {
      const r = numberRule(schema as z.ZodNumber);
      const parts = [`typeof ${x} === 'number'`, `!Number.isNaN(${x})`];
      if (r.int) {
        parts.push(`Number.isInteger(${x})`);
      }
      if (r.finite) {
        parts.push(`Number.isFinite(${x})`);
      }
      if (r.min !== -Infinity || !r.minInclusive) {
        parts.push(`${x} ${r.minInclusive ? '>=' : '>'} ${numberSource(r.min)}`);
      }
      if (r.max !== Infinity || !r.maxInclusive) {
        parts.push(`${x} ${r.maxInclusive ? '<=' : '<'} ${numberSource(r.max)}`);
      }
      return `(${parts.join(' && ')})`;
    }
    case K.ZodString:
      if ((schema as z.ZodString)._def.checks.length === 0 && !(schema as z.ZodString)._def.coerce) {
        return `(typeof ${x} === 'string')`;
      }
      return `${external(compileCheck(schema))}(${x})`;
    case K.ZodBoolean:
      return `(typeof ${x} === 'boolean')`;
    case K.ZodNull:
      return `(${x} === null)`;
    case K.ZodLiteral:
      return `(${x} === ${external((schema as z.ZodLiteral<unknown>)._def.value)})`;
    case K.ZodEnum:
      return `(typeof ${x} === 'string' && ${external(new Set<unknown>((schema as z.ZodEnum<[string, ...string[]]>)._def.values))}.has(${x}))`;
    case K.ZodNullable:
      return `(${x} === null || ${inlineSource((schema as z.ZodNullable<ZodTypeAny>)._def.innerType, x, ext)})`;
    case K.ZodOptional:
      return `(${x} === undefined || ${inlineSource((schema as z.ZodOptional<ZodTypeAny>)._def.innerType, x, ext)})`;
    default:
      return `${external(compileCheck(schema))}(${x})`;
  }
}

/** A leaf node's check compiled from its `inlineSource` (numbers, booleans, null, literals, enums, and nullable or
 * optional wrappers): the same source the object checks inline. */
function sourceCheck(schema: ZodTypeAny): Check {
  const ext: unknown[] = [];
  const body = inlineSource(schema, 'v', ext);
  // As in objectCheck: the source holds only what the schema says, no input reaches it.
  return new Function('E', `'use strict';\nreturn function check(v) { return ${body}; };`)(ext) as Check;
}

function stringCheck(schema: z.ZodString): Check {
  if (schema._def.coerce) {
    refuse(schema, 'coercion changes the value');
  }
  const checks = schema._def.checks;
  for (const c of checks) {
    if (c.kind === 'trim' || c.kind === 'toLowerCase' || c.kind === 'toUpperCase') {
      refuse(schema, `string check '${c.kind}' changes the value`);
    }
  }
  if (checks.length === 0) {
    return (v) => typeof v === 'string';
  }
  // zod's own rule for this node, asked once per distinct string.
  const ok = new Set<string>();
  return (v) => {
    if (typeof v !== 'string') {
      return false;
    }
    if (ok.has(v)) {
      return true;
    }
    if (!schema.safeParse(v).success) {
      return false;
    }
    if (v.length > MEMO_LENGTH) {
      return true;
    }
    if (ok.size >= MEMO_MAX) {
      ok.clear();
    }
    ok.add(v);
    return true;
  };
}

/**
 * An object node's check as generated code: one function per object schema that reads each field by its own
 * name (so V8 keeps one inline cache per field for documents of one shape, as JSON.parse makes them) and checks
 * the leaves in place. Fields are this schema's own keys, written as JSON string literals.
 */
function objectCheck(schema: z.AnyZodObject): Check {
  const def = schema._def as z.ZodObjectDef;
  if (def.unknownKeys !== 'strip' || !(def.catchall instanceof z.ZodNever)) {
    refuse(schema, `unknown keys '${def.unknownKeys}' or a catch-all`);
  }
  const ext: unknown[] = [];
  const lines = Object.entries(schema.shape as Record<string, ZodTypeAny>).map(
    ([key, s], i) => `const x${i} = v[${JSON.stringify(key)}];\nif (!${inlineSource(s, `x${i}`, ext)}) return false;`
  );
  const source = [
    `'use strict';`,
    `return function check(v) {`,
    `if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;`,
    `const proto = Object.getPrototypeOf(v);`,
    `if (proto !== OP && proto !== null) return false;`,
    ...lines,
    `return true;`,
    `};`,
  ].join('\n');
  // The source holds only what the schema says (keys as JSON literals, bounds as numbers): no input reaches it.
  return new Function('E', 'OP', source)(ext, Object.prototype) as Check;
}

function arrayCheck(schema: z.ZodArray<ZodTypeAny>): Check {
  const def = schema._def;
  const item = compileCheck(def.type);
  const min = Math.max(def.minLength?.value ?? 0, def.exactLength?.value ?? 0);
  const max = Math.min(def.maxLength?.value ?? Infinity, def.exactLength?.value ?? Infinity);
  return (v) => {
    if (!Array.isArray(v) || v.length < min || v.length > max) {
      return false;
    }
    for (let i = 0; i < v.length; i++) {
      if (!item(v[i])) {
        return false;
      }
    }
    return true;
  };
}

function recordCheck(schema: z.ZodRecord): Check {
  const key = compileCheck(schema._def.keyType);
  const value = compileCheck(schema._def.valueType);
  return (v) => {
    if (!isPlainObject(v)) {
      return false;
    }
    for (const k in v) {
      if (!key(k) || !value(v[k])) {
        return false;
      }
    }
    return true;
  };
}

/** Compiles `schema` into a check that is true only for values zod accepts unchanged (see the file comment). */
export function compileCheck(schema: ZodTypeAny): Check {
  const def = schema._def as { typeName?: z.ZodFirstPartyTypeKind };
  switch (def.typeName) {
    case K.ZodObject:
      return objectCheck(schema as z.AnyZodObject);
    case K.ZodArray:
      return arrayCheck(schema as z.ZodArray<ZodTypeAny>);
    case K.ZodString:
      return stringCheck(schema as z.ZodString);
    case K.ZodRecord:
      return recordCheck(schema as z.ZodRecord);
    case K.ZodNumber:
    case K.ZodBoolean:
    case K.ZodNull:
    case K.ZodLiteral:
    case K.ZodEnum:
    case K.ZodNullable:
    case K.ZodOptional:
      return sourceCheck(schema);
    case K.ZodEffects: {
      const effects = schema as z.ZodEffects<ZodTypeAny>;
      if (effects._def.effect.type !== 'refinement') {
        refuse(schema, `effect '${effects._def.effect.type}' changes the value`);
      }
      const inner = compileCheck(effects._def.schema);
      return (v) => inner(v) && schema.safeParse(v).success;
    }
    default:
      return refuse(schema, 'unknown to the compiler');
  }
}
