// validate.js — validates an OpenAPI document with the pinned
// @apidevtools/swagger-parser (schema of the OpenAPI version, $refs resolve).
// Usage: node validate.js FILE   Prints "valid OpenAPI <version>, N paths",
// or the validator's error, and exits 1 on an invalid document.
'use strict';
const SwaggerParser = require('@apidevtools/swagger-parser');

async function main() {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node validate.js FILE');
    process.exit(2);
  }
  try {
    const api = await SwaggerParser.validate(file);
    console.log(`valid OpenAPI ${api.openapi}, ${Object.keys(api.paths).length} paths`);
  } catch (err) {
    console.error(`invalid: ${err.message}`);
    process.exit(1);
  }
}

main();
