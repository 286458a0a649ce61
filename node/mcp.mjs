// bearerguard/mcp for ES module apps: the MCP SDK's ESM error classes.
import { createRequire } from 'node:module';

import * as sdkErrors from '@modelcontextprotocol/sdk/server/auth/errors.js';

const { makeMcp } = createRequire(import.meta.url)('./mcp-core.js');

export const { mcpVerifier, requireMcpToken, metadataRouter, toSdkError } = makeMcp(sdkErrors);
