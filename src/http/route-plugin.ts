// The contract of every route module: a Fastify plugin registered with
// `app.register(plugin, { ctx })`, whose request data (body, params, querystring) is typed from
// the same JSON schemas that validate it and that the OpenAPI document shows.
import type { FastifyPluginAsync, FastifyTypeProvider, RawServerDefault } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { AppContext } from '../engine/context.ts';

/**
 * Requests typed by json-schema-to-ts from the route's schemas. Answers are left untyped: the
 * response schemas are open (`additionalProperties: true`) documentation of what the domain
 * types hold, and the serializer already shapes every answer by them at run time.
 */
export interface TypeProvider extends FastifyTypeProvider {
  validator: RequestType<this['schema']>;
  serializer: unknown;
}

/** What json-schema-to-ts makes of one request schema (Fastify's own way of calling a provider). */
type RequestType<Schema> = (JsonSchemaToTsProvider & { schema: Schema })['validator'];

export interface RoutePluginOptions {
  ctx: AppContext;
}

export type RoutePlugin = FastifyPluginAsync<RoutePluginOptions, RawServerDefault, TypeProvider>;
