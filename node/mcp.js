'use strict';
// bearerguard/mcp for CommonJS apps: the MCP SDK's CommonJS error classes.
const { makeMcp } = require('./mcp-core.js');

module.exports = makeMcp(require('@modelcontextprotocol/sdk/server/auth/errors.js'));
