// The typed options of index.d.ts against the core's own list of config key paths
// (`configFields()`, from `Config::field_paths()`): a field added, renamed or removed in the
// core fails here until index.d.ts follows. The .d.ts is read with the TypeScript compiler API.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import ts from 'typescript';
import { configFields } from 'bearerguard';
import { nodeDir } from '../support/helpers.mjs';

// index.js's conversion of option names, and its inverse.
const snakeCase = (key) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camelCase = (key) => key.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

/** Every option path `ValidatorOptions` declares, nested interfaces followed (`cache.maxTtlSecs`). */
function declaredOptions() {
  const file = join(nodeDir, 'index.d.ts');
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const interfaces = new Map();
  for (const statement of source.statements) {
    if (ts.isInterfaceDeclaration(statement)) interfaces.set(statement.name.text, statement);
  }
  const referenced = (type) => {
    const names = [];
    const visit = (node) => {
      if (ts.isTypeReferenceNode(node) && interfaces.has(node.typeName.getText(source))) {
        names.push(node.typeName.getText(source));
      }
      ts.forEachChild(node, visit);
    };
    if (type) visit(type);
    return names;
  };
  const paths = [];
  const walk = (declaration, prefix, seen) => {
    assert.equal(declaration.heritageClauses, undefined, `${declaration.name.text}: no extends, please`);
    for (const member of declaration.members) {
      assert.ok(ts.isPropertySignature(member), `${declaration.name.text} has a member that is not a property`);
      const name = `${prefix}${member.name.getText(source)}`;
      paths.push(name);
      for (const nested of referenced(member.type)) {
        assert.ok(!seen.includes(nested), `${nested} refers to itself`);
        walk(interfaces.get(nested), `${name}.`, [...seen, nested]);
      }
    }
  };
  walk(interfaces.get('ValidatorOptions'), '', ['ValidatorOptions']);
  return paths;
}

test('index.d.ts declares exactly the config fields the core accepts', () => {
  const core = configFields();
  assert.ok(core.includes('cache.max_ttl_secs') && core.includes('client_auth.client_id'), core.join(' '));
  assert.equal(new Set(core).size, core.length, 'the core lists a field twice');
  const declared = declaredOptions();
  assert.equal(new Set(declared).size, declared.length, 'index.d.ts declares an option twice');
  const asCore = declared.map((path) => path.split('.').map(snakeCase).join('.'));
  assert.deepEqual(
    { missingInDts: core.filter((f) => !asCore.includes(f)), unknownToCore: asCore.filter((f) => !core.includes(f)) },
    { missingInDts: [], unknownToCore: [] },
  );
  // The camelCase name of every core field is the one declared (index.js maps it back).
  const camel = core.map((path) => path.split('.').map(camelCase).join('.'));
  assert.deepEqual([...camel].sort(), [...declared].sort());
});
