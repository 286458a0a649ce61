// An MCP server (the official TypeScript SDK, streamable HTTP, stateless) with one tool,
// protected by bearerguard. The tool `whoami` needs scope "read" ("write" implies it).
//
// The validator config (core JSON keys, without `resource`) comes from BEARERGUARD_CONFIG; the
// server listens on 127.0.0.1 on a free port, sets `resource` to its own
// `http://127.0.0.1:<port>/mcp`, and prints {"ready": true, "port": N, "resource": ...}.
//
// MCP_AUTH picks how: "middleware" (default) puts bearerguard's own middleware on the MCP route
// (spec-exact challenges, 503 on an outage); "sdk" uses the SDK's requireBearerAuth with
// bearerguard's verifier (the SDK answers: 401, 403, and 500 for an outage). Both serve the
// RFC 9728 metadata document at its well-known path.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import express from 'express';
import { Validator } from 'bearerguard';
import { mcpVerifier, metadataRouter, requireMcpToken } from 'bearerguard/mcp';

const app = express();
const server = app.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const resource = `http://127.0.0.1:${port}/mcp`;
  const validator = new Validator({
    impliedScopes: { write: ['read'] },
    scopesSupported: ['read', 'write'],
    resource,
    ...JSON.parse(process.env.BEARERGUARD_CONFIG),
  });

  app.use(metadataRouter({ validator }));
  const auth =
    process.env.MCP_AUTH === 'sdk'
      ? requireBearerAuth({
          verifier: mcpVerifier({ validator }),
          requiredScopes: ['read'],
          resourceMetadataUrl: validator.resource.metadataUrl,
        })
      : requireMcpToken({ validator, scopes: ['read'] });

  app.post('/mcp', auth, express.json(), async (req, res) => {
    const mcp = new McpServer({ name: 'whoami', version: '1.0.0' });
    mcp.registerTool('whoami', { description: 'Who the caller is, as its access token says' }, (extra) => {
      const { clientId, scopes, resource: aud } = extra.authInfo;
      const who = { clientId, scopes, resource: String(aud) };
      return { content: [{ type: 'text', text: JSON.stringify(who) }], structuredContent: who };
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      transport.close();
      mcp.close();
    });
    await mcp.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });

  process.stdout.write(`${JSON.stringify({ ready: true, port, resource })}\n`);
});

// Stop with the test that started us: when stdin closes, or on SIGTERM.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
