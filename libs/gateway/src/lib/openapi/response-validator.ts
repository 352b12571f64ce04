import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { isJsonObject, type JsonObject, type OpenApiDocument } from './merge';

/**
 * Checks one response against the document: `path` is the concrete request path
 * (`/api/v1/orders/123`, a query string is ignored), `body` the parsed JSON. Returns
 * human-readable problems; an empty array means the response matches.
 */
export type ResponseValidator = (method: string, path: string, status: number, contentType: string | undefined, body: unknown) => string[];

/** Base URI the document is registered under so its `#/components/...` refs resolve; never fetched. */
const DOCUMENT_ID = 'https://gateway.keelson.invalid/openapi.json';

/**
 * A validator for responses against an OpenAPI 3.1 document (the one `mergeOpenApi` builds).
 * Schemas compile on first use and are cached. A response that documents no content is not
 * checked: NestJS documents many responses by status and description only.
 *
 * @example
 * const validate = createResponseValidator(mergeOpenApi(input));
 * validate('GET', '/api/v1/orders/42', 200, 'application/json', body); // [] or ['GET /api/v1/orders/{id} 200: body must have required property …']
 */
export function createResponseValidator(document: OpenApiDocument): ResponseValidator {
  // OpenAPI schemas carry keywords ajv's strict mode rejects (example, discriminator, xml, x-*).
  const ajv = new Ajv2020({ allErrors: true, strict: false, logger: false });
  addFormats(ajv);
  ajv.addSchema({ ...document, $id: DOCUMENT_ID });
  const templates = pathTemplates(document.paths);
  const compiled = new Map<string, ValidateFunction | string>();

  const schemaValidator = (pointer: readonly string[]): ValidateFunction | string => {
    const ref = `${DOCUMENT_ID}#/${pointer.map((token) => encodeURIComponent(escapePointer(token))).join('/')}`;
    let validator = compiled.get(ref);
    if (validator === undefined) {
      try {
        validator = ajv.compile({ $ref: ref });
      } catch (error) {
        validator = `its schema does not compile: ${error instanceof Error ? error.message : String(error)}`;
      }
      compiled.set(ref, validator);
    }
    return validator;
  };

  return (method, path, status, contentType, body) => {
    const verb = method.toLowerCase();
    const template = matchPath(templates, path);
    if (template === undefined) return [`${method.toUpperCase()} ${path}: no documented path matches`];
    const label = `${method.toUpperCase()} ${template.template}`;
    const operation = template.item[verb];
    if (!isJsonObject(operation)) return [`${label}: the method is not documented`];
    const responses = isJsonObject(operation.responses) ? operation.responses : {};
    const key = responseKey(responses, status);
    if (key === undefined) return [`${label}: status ${status} is not documented (documented: ${Object.keys(responses).join(', ')})`];

    const where = `${label} ${status}`;
    const resolved = resolveLocalRef(document, responses[key], ['paths', template.template, verb, 'responses', key]);
    if (resolved === undefined || !isJsonObject(resolved.value)) return [`${where}: the documented response cannot be resolved`];
    const content = resolved.value.content;
    if (!isJsonObject(content) || Object.keys(content).length === 0) return [];

    const documented = Object.keys(content).join(', ');
    if (contentType === undefined) return [`${where}: no content type; documented: ${documented}`];
    const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
    const mediaKey = mediaTypeKey(content, mediaType);
    if (mediaKey === undefined) return [`${where}: content type ${mediaType} is not documented (documented: ${documented})`];
    const media = content[mediaKey];
    // Only JSON bodies have a JSON Schema to check.
    if (!isJsonObject(media) || media.schema === undefined || !isJsonMediaType(mediaType)) return [];

    const validator = schemaValidator([...resolved.pointer, 'content', mediaKey, 'schema']);
    if (typeof validator === 'string') return [`${where}: ${validator}`];
    if (validator(body)) return [];
    return (validator.errors ?? []).map((error) => `${where}: ${describeError(error)}`);
  };
}

function describeError(error: ErrorObject): string {
  const params: Record<string, unknown> = error.params;
  const message = error.message ?? `fails ${error.keyword}`;
  switch (error.keyword) {
    case 'additionalProperties':
      return `body${error.instancePath} ${message}: ${JSON.stringify(params.additionalProperty)}`;
    case 'enum':
      return `body${error.instancePath} ${message}: ${JSON.stringify(params.allowedValues)}`;
    default:
      return `body${error.instancePath} ${message}`;
  }
}

const isJsonMediaType = (mediaType: string) => mediaType === 'application/json' || mediaType.endsWith('+json');

/** The documented media type for `mediaType`: exact, then `type/*`, then `*\/*`. */
function mediaTypeKey(content: JsonObject, mediaType: string): string | undefined {
  const keys = Object.keys(content);
  const wanted = [mediaType, `${mediaType.split('/')[0] ?? ''}/*`, '*/*'];
  for (const candidate of wanted) {
    const key = keys.find((k) => k.toLowerCase() === candidate);
    if (key !== undefined) return key;
  }
  return undefined;
}

/** The documented response for `status`: exact, then its range (`4XX`), then `default`. */
function responseKey(responses: JsonObject, status: number): string | undefined {
  const range = `${Math.floor(status / 100)}XX`;
  return [String(status), range, range.toLowerCase(), 'default'].find((key) => responses[key] !== undefined);
}

// ---------------------------------------------------------------- references

const escapePointer = (token: string) => token.replace(/~/g, '~0').replace(/\//g, '~1');
const unescapePointer = (token: string) => token.replace(/~1/g, '/').replace(/~0/g, '~');

/** Follows local `$ref`s (`#/components/responses/X`) from `value`, returning where it ends up. */
function resolveLocalRef(document: JsonObject, value: unknown, pointer: string[]): { value: unknown; pointer: string[] } | undefined {
  let current = { value, pointer };
  for (let hops = 0; hops < 16; hops++) {
    const ref = isJsonObject(current.value) ? current.value.$ref : undefined;
    if (typeof ref !== 'string') return current;
    if (!ref.startsWith('#/')) return undefined;
    const tokens = ref.slice(2).split('/').map(unescapePointer);
    let target: unknown = document;
    for (const token of tokens) target = isJsonObject(target) ? target[token] : undefined;
    current = { value: target, pointer: tokens };
  }
  return undefined;
}

// ---------------------------------------------------------------- paths

interface PathTemplate {
  template: string;
  item: JsonObject;
  /** Per segment: the literal text, or a pattern when it holds `{parameters}`. */
  segments: (string | RegExp)[];
}

function pathTemplates(paths: unknown): PathTemplate[] {
  return Object.entries(isJsonObject(paths) ? paths : {}).flatMap(([template, item]) =>
    isJsonObject(item)
      ? [
          {
            template,
            item,
            segments: splitPath(template).map((segment) =>
              segment.includes('{')
                ? new RegExp(
                    `^${segment
                      .split(/\{[^}]*\}/)
                      .map(escapeRegExp)
                      .join('[^/]+')}$`,
                  )
                : segment,
            ),
          },
        ]
      : [],
  );
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function splitPath(path: string): string[] {
  return path
    .replace(/[?#].*$/, '')
    .replace(/\/+$/, '')
    .split('/');
}

/** The template matching `path`; where several do, the one with a literal segment first wins (`/orders/search` over `/orders/{id}`). */
function matchPath(templates: readonly PathTemplate[], path: string): PathTemplate | undefined {
  const segments = splitPath(path);
  let best: PathTemplate | undefined;
  for (const candidate of templates) {
    if (candidate.segments.length !== segments.length) continue;
    const matches = candidate.segments.every((expected, i) => {
      const actual = segments[i] ?? '';
      return typeof expected === 'string' ? expected === actual : expected.test(actual);
    });
    if (matches && (best === undefined || moreSpecific(candidate, best))) best = candidate;
  }
  return best;
}

function moreSpecific(a: PathTemplate, b: PathTemplate): boolean {
  for (const [i, segment] of a.segments.entries()) {
    const literalA = typeof segment === 'string';
    const literalB = typeof b.segments[i] === 'string';
    if (literalA !== literalB) return literalA;
  }
  return false;
}
