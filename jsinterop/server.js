// `node jsinterop/server.js --port=N [--use_tls=true --tls_cert_file=F --tls_key_file=F]`:
// the interop TestService, started like gRPC's reference interop servers. It prints one
// line once it listens and stops cleanly on SIGINT or SIGTERM.
import grpc from '@grpc/grpc-js';
import { parseFlags, readPem, usageError } from './flags.js';
import { loadTesting } from './protos.js';
import { testService } from './service.js';

const flags = parseFlags(process.argv.slice(2), {
  port: 'port',
  host: 'string',
  use_tls: 'bool',
  tls_cert_file: 'string',
  tls_key_file: 'string',
});
if (flags.port === undefined) usageError('--port is required');
let credentials = grpc.ServerCredentials.createInsecure();
if (flags.use_tls) {
  if (!flags.tls_cert_file || !flags.tls_key_file) {
    usageError('--use_tls=true needs --tls_cert_file and --tls_key_file');
  }
  const cert = await readPem(flags.tls_cert_file, '--tls_cert_file');
  const key = await readPem(flags.tls_key_file, '--tls_key_file');
  credentials = grpc.ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }], false);
} else if (flags.tls_cert_file || flags.tls_key_file) {
  usageError('--tls_cert_file and --tls_key_file need --use_tls=true');
}

const server = new grpc.Server();
server.addService(loadTesting().TestService.service, testService);
const host = flags.host ?? '0.0.0.0';
server.bindAsync(`${host}:${flags.port}`, credentials, (err, port) => {
  if (err) {
    process.stderr.write(`error: cannot serve on port ${flags.port}: ${err.message}\n`);
    process.exit(1);
  }
  const transport = flags.use_tls ? 'TLS' : 'plaintext';
  process.stdout.write(`grpc.testing.TestService listening on port ${port} (${transport})\n`);
});

function stop() {
  // Calls still running get two seconds to finish.
  const force = setTimeout(() => server.forceShutdown(), 2000);
  server.tryShutdown(() => {
    clearTimeout(force);
    process.exit(0);
  });
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
