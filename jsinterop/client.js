// `node jsinterop/client.js --server_port=N --test_case=NAME [--use_tls=true ...]`: run one
// interop test case, with the flags of gRPC's reference interop clients. Exit status: 0 and
// `PASS case (N ms)` on stdout when it passed; 1 and one line `FAIL case: why` on stderr
// when it failed; 2 for a bad flag or an unknown case.
import grpc from '@grpc/grpc-js';
import { CASES, CaseFailed } from './cases.js';
import { parseFlags, readPem, usageError } from './flags.js';
import { loadTesting } from './protos.js';

const flags = parseFlags(process.argv.slice(2), {
  server_host: 'string',
  server_port: 'port',
  test_case: 'string',
  use_tls: 'bool',
  use_test_ca: 'bool',
  ca_file: 'string',
  custom_ca_file: 'string',
  server_host_override: 'string',
});
if (flags.server_port === undefined) usageError('--server_port is required');
const name = flags.test_case;
if (!name || !Object.hasOwn(CASES, name)) {
  usageError(`unknown --test_case ${JSON.stringify(name ?? '')}; one of: ${Object.keys(CASES).join(', ')}`);
}

let credentials = grpc.credentials.createInsecure();
const options = {};
if (flags.use_tls) {
  const caFile = flags.ca_file ?? flags.custom_ca_file;
  if (flags.use_test_ca && !caFile) usageError('--use_test_ca=true needs --ca_file: this client ships no test CA of its own');
  const ca = caFile ? await readPem(caFile, '--ca_file') : null;
  credentials = grpc.credentials.createSsl(ca);
  if (flags.server_host_override) {
    options['grpc.ssl_target_name_override'] = flags.server_host_override;
    options['grpc.default_authority'] = flags.server_host_override;
  }
}

const host = flags.server_host ?? 'localhost';
const target = `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${flags.server_port}`;
const services = loadTesting();
const clients = {
  test: new services.TestService(target, credentials, options),
  unimplemented: new services.UnimplementedService(target, credentials, options),
};

const started = performance.now();
let reason = null;
try {
  await CASES[name](clients);
} catch (err) {
  if (err instanceof CaseFailed) reason = err.message;
  else if (err && typeof err.code === 'number') reason = `unexpected status ${grpc.status[err.code] ?? err.code}: ${err.details}`;
  else reason = `unexpected error: ${err && err.stack ? err.stack.split('\n')[0] : err}`;
} finally {
  clients.test.close();
  clients.unimplemented.close();
}
if (reason === null) {
  process.stdout.write(`PASS ${name} (${Math.round(performance.now() - started)} ms)\n`);
  process.exit(0);
}
process.stderr.write(`FAIL ${name}: ${reason.split(/\s+/).join(' ')}\n`);
process.exit(1);
