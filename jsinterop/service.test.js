// `node --test jsinterop/`: what the TestService does beyond the interop cases (which the
// interop matrix runs against it): bad requests, echoes next to a status, HalfDuplexCall.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import grpc from '@grpc/grpc-js';
import { loadTesting } from './protos.js';
import { ECHO_INITIAL_KEY, ECHO_TRAILING_KEY, MAX_PAYLOAD_BYTES, testService } from './service.js';

const services = loadTesting();
let server;
let client;

before(async () => {
  server = new grpc.Server();
  server.addService(services.TestService.service, testService);
  const port = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  client = new services.TestService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

after(() => {
  client.close();
  server.forceShutdown();
});

function deadline() {
  return { deadline: new Date(Date.now() + 5000) };
}

function unaryError(request, metadata = new grpc.Metadata()) {
  return new Promise((resolve, reject) => {
    client.UnaryCall(request, metadata, deadline(), (err) => (err ? resolve(err) : reject(new Error('call succeeded'))));
  });
}

for (const [request, message] of [
  [{ response_size: -1 }, 'response_size -1 is negative'],
  [{ response_size: MAX_PAYLOAD_BYTES + 1 }, 'is more than this server sends'],
  [{ response_type: 7, response_size: 1 }, 'response_type 7 is not supported'],
  [{ response_status: { code: 99, message: 'x' } }, 'response_status.code 99 is not a gRPC status code'],
]) {
  test(`bad request ${JSON.stringify(request).slice(0, 60)} is INVALID_ARGUMENT`, async () => {
    const err = await unaryError(request);
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
    assert.match(err.details, new RegExp(message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  });
}

test('expect_compressed is refused with the reason', async () => {
  const err = await unaryError({ expect_compressed: { value: true } });
  assert.equal(err.code, grpc.status.UNIMPLEMENTED);
  assert.match(err.details, /cannot tell whether a request arrived compressed/);
});

test('the echoed trailer comes with a requested status', async () => {
  const metadata = new grpc.Metadata();
  metadata.set(ECHO_INITIAL_KEY, 'hello');
  metadata.set(ECHO_TRAILING_KEY, Buffer.from([1, 2, 3]));
  const err = await unaryError({ response_status: { code: 9, message: 'precondition' } }, metadata);
  assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
  assert.equal(err.details, 'precondition');
  assert.deepEqual(err.metadata.get(ECHO_TRAILING_KEY), [Buffer.from([1, 2, 3])]);
});

test('HalfDuplexCall answers every request in order once the client half-closes', async () => {
  const call = client.HalfDuplexCall(deadline());
  const sizes = [];
  const done = new Promise((resolve, reject) => {
    call.on('data', (response) => sizes.push(response.payload.body.length));
    call.on('error', reject);
    call.on('end', resolve);
  });
  call.write({ response_parameters: [{ size: 3 }, { size: 1 }] });
  call.write({ response_parameters: [{ size: 4 }] });
  call.end();
  await done;
  assert.deepEqual(sizes, [3, 1, 4]);
});
