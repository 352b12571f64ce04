import { isDeepStrictEqual } from 'node:util';

/** A JSON object read from an OpenAPI document; its members are checked where they are used. */
export type JsonObject = Record<string, unknown>;

export interface OpenApiInfo extends JsonObject {
  title: string;
  version: string;
  description?: string;
  /** Services whose document could not be fetched: the merged document is partial. */
  'x-unavailable-services'?: string[];
}

/** An OpenAPI 3.0 or 3.1 document, typed only as far as this code reads it. */
export interface OpenApiDocument extends JsonObject {
  openapi: string;
  info: OpenApiInfo;
  servers?: JsonObject[];
  tags?: JsonObject[];
  paths?: Record<string, JsonObject>;
  components?: Record<string, JsonObject>;
}

/** Who may call an operation through the gateway. */
export type OperationAccess = { public: true } | { public?: false; scopes: readonly string[] };

export interface OpenApiSource {
  /** Service name, e.g. `cache-invalidator`; prefixes renamed schemas and colliding operation ids. */
  name: string;
  /** The service's own (NestJS, OpenAPI 3.0) document; `undefined` when it could not be fetched. */
  document: OpenApiDocument | undefined;
  /** Only paths under these prefixes (on a segment boundary) are published. */
  pathPrefixes: readonly string[];
}

export interface MergeOpenApiInput {
  title: string;
  version: string;
  description?: string;
  services: readonly OpenApiSource[];
  /** Access for an operation: `method` upper-case, `path` the OpenAPI template (`/api/v1/orders/{id}`). */
  security: (method: string, path: string) => OperationAccess;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isJsonArray(value: unknown): value is unknown[] {
  return Array.isArray(value);
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** Served by every service but never through the gateway. */
const INFRASTRUCTURE_PATHS = ['/health', '/metrics', '/openapi.json'];

const PROBLEM_SCHEMA: JsonObject = {
  type: 'object',
  description: 'RFC 9457 problem details.',
  properties: {
    type: { type: 'string', format: 'uri-reference', description: 'Identifies the problem type.', default: 'about:blank' },
    title: { type: 'string', description: 'Short summary of the problem type.' },
    status: { type: 'integer', minimum: 100, maximum: 599, description: 'The HTTP status code.' },
    detail: { type: 'string', description: 'Explanation specific to this occurrence.' },
    instance: { type: 'string', format: 'uri-reference', description: 'Identifies this occurrence.' },
  },
  additionalProperties: true,
};

const problemResponse = (description: string): JsonObject => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

/** Answers the gateway itself gives; every operation documents them unless its service already does. */
const GATEWAY_RESPONSES = {
  Unauthorized: problemResponse('The bearer token is missing, invalid, expired or revoked.'),
  Forbidden: problemResponse('The bearer token lacks a required scope.'),
  TooManyRequests: problemResponse('Rate limit exceeded.'),
  ServiceUnavailable: problemResponse('The service behind the gateway is unavailable.'),
};
type GatewayResponse = keyof typeof GATEWAY_RESPONSES;

const ANY_CALLER_RESPONSES: Readonly<Record<string, GatewayResponse>> = { '429': 'TooManyRequests', '503': 'ServiceUnavailable' };
const BEARER_RESPONSES: Readonly<Record<string, GatewayResponse>> = {
  '401': 'Unauthorized',
  '403': 'Forbidden',
  ...ANY_CALLER_RESPONSES,
};

/**
 * Merges the services' OpenAPI 3.0 documents into the gateway's single OpenAPI 3.1 document:
 * only the paths each service publishes under its prefixes, the components they reach
 * (a name two services define differently is renamed `<Service><Name>` in the later one),
 * the gateway's bearer security and its 401/403/429/503 problem responses. Services without a
 * document are listed in `info['x-unavailable-services']`. Pure: the inputs are not modified.
 *
 * @example
 * mergeOpenApi({ title: 'Keelson', version: '1', services: [{ name: 'orders', document, pathPrefixes: ['/api/v1/orders'] }],
 *   security: (method, path) => (method === 'GET' ? { public: true } : { scopes: ['orders:write'] }) });
 */
export function mergeOpenApi(input: MergeOpenApiInput): OpenApiDocument {
  const components: Record<string, JsonObject> = structuredClone({ schemas: { Problem: PROBLEM_SCHEMA }, responses: GATEWAY_RESPONSES });
  const paths: Record<string, JsonObject> = {};
  const tags = new Map<string, JsonObject>();
  const operationIds = new Set<string>();
  const unavailable: string[] = [];

  for (const service of input.services) {
    if (service.document === undefined) {
      unavailable.push(service.name);
      continue;
    }
    // A private copy, so the result shares nothing with the caller's documents.
    const document = structuredClone(service.document);
    const prefix = pascalCase(service.name);
    const servicePaths = publishedPaths(document.paths, service.pathPrefixes);
    const serviceComponents = reachableComponents(document.components, servicePaths);
    const renames = planRenames(prefix, serviceComponents, components);

    for (const entry of serviceComponents) {
      const name = componentName(renames.get(entry.ref) ?? entry.ref);
      const section = (components[entry.kind] ??= {});
      section[name] ??= rewriteRefs(entry.value, renames);
    }
    for (const [path, published] of servicePaths) {
      const item = rewriteRefs(published, renames);
      if (!isJsonObject(item)) continue;
      const target = (paths[path] ??= withoutOperations(item));
      for (const method of HTTP_METHODS) {
        const operation = item[method];
        // Two services documenting the same operation is a routing mistake; the first one stays.
        if (!isJsonObject(operation) || target[method] !== undefined) continue;
        target[method] = publishedOperation(operation, input.security(method.toUpperCase(), path), prefix, operationIds);
      }
    }
    for (const tag of isJsonArray(document.tags) ? document.tags : []) {
      if (isJsonObject(tag) && typeof tag.name === 'string' && !tags.has(tag.name)) tags.set(tag.name, tag);
    }
  }

  return {
    openapi: '3.1.0',
    info: {
      title: input.title,
      version: input.version,
      ...(input.description === undefined ? {} : { description: input.description }),
      ...(unavailable.length === 0 ? {} : { 'x-unavailable-services': unavailable }),
    },
    servers: [{ url: '/' }],
    ...(tags.size === 0 ? {} : { tags: [...tags.values()] }),
    paths,
    components: { ...components, securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
  };
}

function publishedOperation(operation: JsonObject, access: OperationAccess, prefix: string, operationIds: Set<string>): JsonObject {
  const responses: JsonObject = { ...(isJsonObject(operation.responses) ? operation.responses : {}) };
  for (const [status, name] of Object.entries(access.public ? ANY_CALLER_RESPONSES : BEARER_RESPONSES)) {
    responses[status] ??= { $ref: `#/components/responses/${name}` };
  }
  const published: JsonObject = { ...operation, security: access.public ? [] : [{ bearer: [...access.scopes] }], responses };
  if (typeof operation.operationId === 'string') published.operationId = uniqueOperationId(operation.operationId, prefix, operationIds);
  return published;
}

function uniqueOperationId(operationId: string, prefix: string, taken: Set<string>): string {
  let candidate = operationId;
  for (let n = 1; taken.has(candidate); n++) candidate = n === 1 ? `${prefix}_${operationId}` : `${prefix}_${operationId}_${n}`;
  taken.add(candidate);
  return candidate;
}

function pascalCase(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

// ---------------------------------------------------------------- paths

function covers(prefix: string, path: string): boolean {
  const base = prefix.replace(/\/+$/, '');
  return path === base || path.startsWith(`${base}/`);
}

/** The service's path items under its prefixes, upgraded to 3.1. */
function publishedPaths(paths: unknown, prefixes: readonly string[]): [string, JsonObject][] {
  return Object.entries(isJsonObject(paths) ? paths : {})
    .filter(([path]) => prefixes.some((prefix) => covers(prefix, path)) && !INFRASTRUCTURE_PATHS.some((infra) => covers(infra, path)))
    .flatMap(([path, item]) => (isJsonObject(item) ? [[path, upgradePathItem(item)] as [string, JsonObject]] : []));
}

function withoutOperations(item: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(item).filter(([key]) => !(HTTP_METHODS as readonly string[]).includes(key)));
}

// ---------------------------------------------------------------- components

interface ComponentEntry {
  kind: string;
  name: string;
  /** `#/components/<kind>/<name>` as it appears in `$ref`s. */
  ref: string;
  value: unknown;
}

const escapePointer = (token: string) => token.replace(/~/g, '~0').replace(/\//g, '~1');
const unescapePointer = (token: string) => token.replace(/~1/g, '/').replace(/~0/g, '~');
const componentRef = (kind: string, name: string) => `#/components/${escapePointer(kind)}/${escapePointer(name)}`;
const componentName = (ref: string) => unescapePointer(ref.slice(ref.lastIndexOf('/') + 1));

/** The service's components (upgraded to 3.1) that its published paths reach, in document order. */
function reachableComponents(components: unknown, roots: unknown): ComponentEntry[] {
  const byRef = new Map<string, ComponentEntry>();
  for (const [kind, section] of Object.entries(isJsonObject(components) ? components : {})) {
    // The gateway's bearer scheme replaces whatever the services declare.
    if (kind === 'securitySchemes' || !isJsonObject(section)) continue;
    for (const [name, value] of Object.entries(section)) {
      const ref = componentRef(kind, name);
      byRef.set(ref, { kind, name, ref, value: upgradeComponent(kind, value) });
    }
  }
  const reached = new Set<string>();
  const pending = collectRefs(roots);
  for (let ref = pending.pop(); ref !== undefined; ref = pending.pop()) {
    const entry = byRef.get(ref);
    if (entry === undefined || reached.has(ref)) continue;
    reached.add(ref);
    pending.push(...collectRefs(entry.value));
  }
  return [...byRef.values()].filter((entry) => reached.has(entry.ref));
}

/**
 * Renames (old ref → new ref) for the service's components that clash with a different
 * component of the same name already merged. Repeats until stable, because renaming one
 * schema changes every schema that refers to it.
 */
function planRenames(prefix: string, entries: readonly ComponentEntry[], merged: Record<string, JsonObject>): Map<string, string> {
  const renames = new Map<string, string>();
  const taken = new Set(entries.map((entry) => entry.ref));
  for (let changed = true; changed;) {
    changed = false;
    for (const entry of entries) {
      if (renames.has(entry.ref)) continue;
      const existing = merged[entry.kind]?.[entry.name];
      if (existing === undefined || isDeepStrictEqual(existing, rewriteRefs(entry.value, renames))) continue;
      let ref = componentRef(entry.kind, `${prefix}${entry.name}`);
      for (let n = 2; taken.has(ref) || merged[entry.kind]?.[componentName(ref)] !== undefined; n++) {
        ref = componentRef(entry.kind, `${prefix}${entry.name}${n}`);
      }
      renames.set(entry.ref, ref);
      taken.add(ref);
      changed = true;
    }
  }
  return renames;
}

function collectRefs(value: unknown, found: string[] = []): string[] {
  if (isJsonArray(value)) {
    for (const item of value) collectRefs(item, found);
  } else if (isJsonObject(value)) {
    for (const [key, member] of Object.entries(value)) {
      if (key === '$ref' && typeof member === 'string') found.push(member);
      else collectRefs(member, found);
    }
  }
  return found;
}

/** A copy of `value` with every `$ref` in `renames` pointed at the new name. */
function rewriteRefs(value: unknown, renames: ReadonlyMap<string, string>): unknown {
  if (isJsonArray(value)) return value.map((item) => rewriteRefs(item, renames));
  if (!isJsonObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, member]) => [
      key,
      key === '$ref' && typeof member === 'string' ? (renames.get(member) ?? member) : rewriteRefs(member, renames),
    ]),
  );
}

// ---------------------------------------------------------------- OpenAPI 3.0 → 3.1

type Upgrade = (value: unknown) => unknown;

/** A copy of `value` with the members named in `upgrades` replaced by their upgraded form. */
function upgradeMembers(value: unknown, upgrades: Readonly<Record<string, Upgrade>>): unknown {
  if (!isJsonObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, member]) => {
      const upgrade = upgrades[key];
      return [key, upgrade ? upgrade(member) : member];
    }),
  );
}

const eachValue =
  (upgrade: Upgrade): Upgrade =>
  (value) =>
    isJsonObject(value) ? Object.fromEntries(Object.entries(value).map(([key, member]) => [key, upgrade(member)])) : value;
const eachItem =
  (upgrade: Upgrade): Upgrade =>
  (value) =>
    isJsonArray(value) ? value.map(upgrade) : value;

const SINGLE_SUBSCHEMA = ['items', 'additionalProperties', 'not', 'contains', 'propertyNames', 'if', 'then', 'else'];
const SUBSCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'dependentSchemas'];
const SUBSCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];
/** Keywords that describe a schema without constraining it; they stay outside a nullable `anyOf`. */
const ANNOTATIONS = new Set([
  'title',
  'description',
  'default',
  'example',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
  'externalDocs',
]);

const upgradeSchema: Upgrade = (schema) => {
  if (!isJsonObject(schema)) return schema;
  const upgraded: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (SINGLE_SUBSCHEMA.includes(key)) upgraded[key] = upgradeSchema(value);
    else if (SUBSCHEMA_MAPS.includes(key)) upgraded[key] = eachValue(upgradeSchema)(value);
    else if (SUBSCHEMA_LISTS.includes(key)) upgraded[key] = eachItem(upgradeSchema)(value);
    else upgraded[key] = value;
  }
  return upgradeNullable(upgradeExclusiveBounds(upgraded));
};

/** 3.0's boolean `exclusiveMinimum` qualifies `minimum`; in 3.1 it is the bound itself. */
function upgradeExclusiveBounds(schema: JsonObject): JsonObject {
  const { minimum, exclusiveMinimum, maximum, exclusiveMaximum, ...rest } = schema;
  return {
    ...rest,
    ...exclusiveBound('minimum', minimum, 'exclusiveMinimum', exclusiveMinimum),
    ...exclusiveBound('maximum', maximum, 'exclusiveMaximum', exclusiveMaximum),
  };
}

function exclusiveBound(boundKey: string, bound: unknown, exclusiveKey: string, exclusive: unknown): JsonObject {
  const upgraded: JsonObject = {};
  if (exclusive === true && typeof bound === 'number') upgraded[exclusiveKey] = bound;
  else if (bound !== undefined) upgraded[boundKey] = bound;
  // A number is already 3.1's form; a boolean has been folded into the bound above.
  if (exclusive !== undefined && typeof exclusive !== 'boolean') upgraded[exclusiveKey] = exclusive;
  return upgraded;
}

/** 3.0's `nullable: true` becomes a `'null'` type (or an `anyOf` with one when the schema is a reference or composition). */
function upgradeNullable(schema: JsonObject): JsonObject {
  const { nullable, ...rest } = schema;
  if (nullable !== true) return rest;
  if ('$ref' in rest || 'allOf' in rest || 'anyOf' in rest || 'oneOf' in rest) {
    const annotations = Object.fromEntries(Object.entries(rest).filter(([key]) => ANNOTATIONS.has(key) || key.startsWith('x-')));
    const core = Object.fromEntries(Object.entries(rest).filter(([key]) => !(key in annotations)));
    return { ...annotations, anyOf: [singleReference(core) ?? core, { type: 'null' }] };
  }
  const { type, enum: values } = rest;
  if (typeof type === 'string') rest.type = [type, 'null'];
  else if (isJsonArray(type) && !type.includes('null')) rest.type = [...type, 'null'];
  if (isJsonArray(values) && !values.includes(null)) rest.enum = [...values, null];
  return rest;
}

/** NestJS writes a nullable reference as `{ type: 'object', allOf: [{ $ref }] }`; that is just the reference. */
function singleReference(core: JsonObject): JsonObject | undefined {
  const { allOf, type, ...others } = core;
  const [only, ...more] = isJsonArray(allOf) ? allOf : [];
  const plain = Object.keys(others).length === 0 && more.length === 0 && (type === undefined || type === 'object');
  return plain && isJsonObject(only) && typeof only.$ref === 'string' ? only : undefined;
}

const upgradeContent = eachValue((media) => upgradeMembers(media, { schema: upgradeSchema }));
const upgradeParameter: Upgrade = (parameter) => upgradeMembers(parameter, { schema: upgradeSchema, content: upgradeContent });
const upgradeRequestBody: Upgrade = (body) => upgradeMembers(body, { content: upgradeContent });
const upgradeResponse: Upgrade = (response) => upgradeMembers(response, { content: upgradeContent, headers: eachValue(upgradeParameter) });
const upgradeOperation: Upgrade = (operation) =>
  upgradeMembers(operation, {
    parameters: eachItem(upgradeParameter),
    requestBody: upgradeRequestBody,
    responses: eachValue(upgradeResponse),
  });

function upgradePathItem(item: JsonObject): JsonObject {
  const upgraded: JsonObject = { ...item };
  if ('parameters' in item) upgraded.parameters = eachItem(upgradeParameter)(item.parameters);
  for (const method of HTTP_METHODS) if (method in item) upgraded[method] = upgradeOperation(item[method]);
  return upgraded;
}

const COMPONENT_UPGRADES: Readonly<Record<string, Upgrade>> = {
  schemas: upgradeSchema,
  parameters: upgradeParameter,
  headers: upgradeParameter,
  requestBodies: upgradeRequestBody,
  responses: upgradeResponse,
};

function upgradeComponent(kind: string, value: unknown): unknown {
  const upgrade = COMPONENT_UPGRADES[kind];
  return upgrade ? upgrade(value) : value;
}
