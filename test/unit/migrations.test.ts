import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { latestSchemaVersion, migrations } from '../../electron/core/migrations.js';

describe('migrations', () => {
  it('are numbered 1, 2, 3… without gaps and latest is the last', () => {
    migrations.forEach((migration, index) => assert.equal(migration.version, index + 1));
    assert.equal(latestSchemaVersion, migrations.length);
  });

  it('each has a name and SQL', () => {
    for (const migration of migrations) {
      assert.match(migration.name, /^[a-z][a-z0-9-]*$/);
      assert.ok(migration.sql.trim().length > 0);
    }
  });
});
