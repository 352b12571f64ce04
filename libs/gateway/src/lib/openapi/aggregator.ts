import { Logger } from '@nestjs/common';
import { request } from 'undici';
import { accessFor, GATEWAY_ROUTES, routeFor, type GatewayRoute, type UpstreamName } from '../route-table';
import { isJsonObject, mergeOpenApi, type OpenApiDocument } from './merge';

export interface OpenApiAggregatorOptions {
  upstreams: Readonly<Record<UpstreamName, string>>;
  refreshSeconds: number;
  routes?: readonly GatewayRoute[];
}

/**
 * Builds the one public OpenAPI 3.1 document from every service's `/openapi.json`: only the
 * paths the gateway routes, with the gateway's security per operation. Rebuilt on a timer, so
 * a service that was down at start joins the document once it answers; until then the
 * document names it in `info.x-unavailable-services`.
 */
export class OpenApiAggregator {
  private readonly logger = new Logger('OpenApiAggregator');
  private document: OpenApiDocument;
  private timer: NodeJS.Timeout | undefined;
  private readonly routes: readonly GatewayRoute[];

  constructor(private readonly options: OpenApiAggregatorOptions) {
    this.routes = options.routes ?? GATEWAY_ROUTES;
    this.document = this.merge(Object.keys(options.upstreams).map((name) => ({ name: name as UpstreamName, document: undefined })));
  }

  get current(): OpenApiDocument {
    return this.document;
  }

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.options.refreshSeconds * 1_000).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async refresh(): Promise<OpenApiDocument> {
    const fetched = await Promise.all(
      (Object.entries(this.options.upstreams) as [UpstreamName, string][]).map(async ([name, origin]) => ({
        name,
        document: await this.fetchDocument(name, origin),
      })),
    );
    this.document = this.merge(fetched);
    return this.document;
  }

  private merge(documents: { name: UpstreamName; document: OpenApiDocument | undefined }[]): OpenApiDocument {
    return mergeOpenApi({
      title: 'Keelson API',
      version: '1',
      description: 'The public REST API of the Keelson order platform, served through the gateway.',
      services: documents.map(({ name, document }) => ({
        name,
        document,
        pathPrefixes: this.routes.filter((r) => r.upstream === name).map((r) => r.prefix),
      })),
      security: (method, path) => {
        const route = routeFor(path.replace(/\{[^}]+\}/g, 'x'), this.routes);
        return route ? accessFor(route, method) : { public: true };
      },
    });
  }

  private async fetchDocument(name: UpstreamName, origin: string): Promise<OpenApiDocument | undefined> {
    try {
      const response = await request(new URL('/openapi.json', origin), { headersTimeout: 2_000, bodyTimeout: 2_000 });
      if (response.statusCode !== 200) {
        await response.body.dump();
        return undefined;
      }
      const body = await response.body.json();
      return isJsonObject(body) && typeof body.openapi === 'string' ? (body as OpenApiDocument) : undefined;
    } catch (error) {
      this.logger.debug(`${name} OpenAPI document unavailable: ${(error as Error).message}`);
      return undefined;
    }
  }
}
