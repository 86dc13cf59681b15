// The API contract as the tests hold the server to it (issue 17): every answer the suite receives
// from a /v1 operation of /openapi.json is checked against the document — its status is one the
// operation lists, its content type is the one declared for that status, and its body validates
// against the declared schema. A drift between the server and its document fails the test that
// saw it. Validators are compiled once per document and per (operation, status), on first use.
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

export interface Contract {
  /** What is wrong with this answer to `method path` (null: it agrees with the document, or the path is no operation of it). */
  check(method: string, path: string, answer: Answer): string | null;
}

interface Operation {
  method: string;
  template: string;
  re: RegExp;
  responses: Record<string, { content?: Record<string, { schema?: object }> }>;
}

const contracts = new Map<string, Contract>();

/** The contract of a document; documents that differ only in `servers` (each test service has its own URL) share one. */
export function contractOf(doc: any): Contract {
  const { servers: _servers, ...rest } = doc;
  const key = JSON.stringify(rest);
  let c = contracts.get(key);
  if (!c) contracts.set(key, (c = compile(rest)));
  return c;
}

function compile(doc: any): Contract {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  const components = doc.components ?? {};
  const ops: Operation[] = [];
  for (const [template, item] of Object.entries<any>(doc.paths ?? {})) {
    const re = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`);
    for (const [method, op] of Object.entries<any>(item)) {
      if (['get', 'put', 'post', 'patch', 'delete'].includes(method)) ops.push({ method: method.toUpperCase(), template, re, responses: op.responses ?? {} });
    }
  }
  const validators = new Map<string, ValidateFunction>();
  const validator = (id: string, schema: object) => {
    let v = validators.get(id);
    // The operation's schema with the document's components beside it, so that
    // "#/components/schemas/Problem" resolves as it does in the document.
    if (!v) validators.set(id, (v = ajv.compile({ allOf: [schema], components })));
    return v;
  };

  return {
    check(method, path, a) {
      const p = path.split('?')[0];
      const op = ops.find((o) => o.method === method.toUpperCase() && o.re.test(p));
      if (!op) return null;
      const what = `${op.method} ${op.template} → ${a.status}`;
      const code = String(a.status);
      const r = op.responses[code] ?? op.responses[`${code[0]}XX`] ?? op.responses.default;
      if (!r) return `${what}: status not documented (documented: ${Object.keys(op.responses).join(', ')})`;
      const type = (a.headers.get('content-type') ?? '').split(';')[0].trim();
      const declared = Object.keys(r.content ?? {});
      if (declared.length === 0) {
        if (a.body !== null && a.body !== '' && a.body !== undefined) return `${what}: a body where the document declares none`;
        return null;
      }
      if (!declared.includes(type)) return `${what}: content type ${type || '(none)'} where the document declares ${declared.join(', ')}`;
      const schema = r.content![type].schema;
      if (!schema) return null;
      const v = validator(`${op.method} ${op.template} ${code} ${type}`, schema);
      if (!v(a.body)) return `${what}: body does not match the document: ${ajv.errorsText(v.errors, { dataVar: 'body' })} — ${JSON.stringify(a.body)?.slice(0, 400)}`;
      return null;
    },
  };
}
