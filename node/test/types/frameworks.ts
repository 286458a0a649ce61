// Type-checked by `tsc --noEmit -p .` (never run): the framework adapters as TypeScript apps use them.
import Fastify from 'fastify';
import { Hono } from 'hono';
import { Controller, Get, Req, UseGuards } from '@nestjs/common';
import { Validator, type TokenInfo } from 'bearerguard';
import bearerguard from 'bearerguard/fastify';
import { requireToken, type BearerContext } from 'bearerguard/koa';
import { bearerAuth } from 'bearerguard/hono';
import { BearerGuard, Scopes, type AuthenticatedRequest } from 'bearerguard/nest';

const validator = new Validator({ issuer: 'https://auth.example.com', audience: 'https://api.example.com' });

const fastify = Fastify();
fastify.register(bearerguard, { validator, scopes: ['read'] });
fastify.get('/orders', { config: { scopes: ['write'] } }, async (request) => {
  const info: TokenInfo | null = request.auth;
  return { client: info?.clientId };
});
fastify.get('/health', { config: { bearerguard: false } }, async () => 'ok');
// @ts-expect-error scopes are strings
fastify.get('/bad', { config: { scopes: [1] } }, async () => 'no');

const koaMiddleware = requireToken({ validator, scopes: ['write'] });
export async function koaRoute(ctx: BearerContext) {
  await koaMiddleware(ctx, async () => {
    const info: TokenInfo | undefined = ctx.state.auth;
    ctx.body = { client: info?.clientId };
  });
}

const hono = new Hono();
hono.get('/orders', bearerAuth({ validator, scopes: ['write'] }), (c) => {
  const info: TokenInfo = c.get('auth');
  return c.json({ client: info.clientId });
});

@Controller()
@UseGuards(new BearerGuard({ validator }))
export class OrdersController {
  @Get('orders')
  @Scopes('write')
  orders(@Req() req: AuthenticatedRequest) {
    return { client: req.auth.clientId };
  }
}
