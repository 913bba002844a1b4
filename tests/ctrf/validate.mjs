// Validates a CTRF report with the reference implementation's strict validator (its published
// JSON schema). Prints "valid" and exits 0, or prints the errors and exits 1.
import { readFileSync } from 'node:fs';
import { validate } from 'ctrf';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const result = validate(report);
if (result.valid) {
  console.log('valid');
} else {
  console.log(JSON.stringify(result.errors, null, 2));
  process.exit(1);
}
