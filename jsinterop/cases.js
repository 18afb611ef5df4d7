// The interop test cases a client runs, as gRPC's interop test descriptions define them.
// Each case is `async (clients) => {}` that returns when every assertion held and throws a
// CaseFailed (one line saying what differed) otherwise; an unexpected status surfaces as the
// call's error. grpc-js cannot see whether a received message was compressed, so the
// server_compressed_* cases check the responses and that the call succeeded, as the
// descriptions allow for such clients; it cannot compress one request and not the next, so
// the client_compressed_* cases are not here.
import grpc from '@grpc/grpc-js';

const CALL_TIMEOUT_MS = 10000;
const LARGE_REQUEST = 271828;
const LARGE_RESPONSE = 314159;
const REQUEST_SIZES = [27182, 8, 1828, 45904];
const RESPONSE_SIZES = [31415, 9, 2653, 58979];
const ECHO_INITIAL = ['x-grpc-test-echo-initial', 'test_initial_metadata_value'];
const ECHO_TRAILING = ['x-grpc-test-echo-trailing-bin', Buffer.from([0xab, 0xab, 0xab])];
const SPECIAL_STATUS_MESSAGE = '\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \u{1f608}\t\n';

export class CaseFailed extends Error {}

function expect(condition, message) {
  if (!condition) throw new CaseFailed(message);
}

function deadline(ms = CALL_TIMEOUT_MS) {
  return { deadline: new Date(Date.now() + ms) };
}

function zeros(size) {
  return { type: 0, body: Buffer.alloc(size) };
}

function checkBody(what, payload, size) {
  const body = payload ? payload.body : Buffer.alloc(0);
  expect(body.length === size, `${what}: payload of ${body.length} bytes, want ${size}`);
  expect(body.every((b) => b === 0), `${what}: payload body is not all zeros`);
}

function statusName(code) {
  return Object.keys(grpc.status).find((name) => grpc.status[name] === code) ?? String(code);
}

function largeRequest() {
  return { response_type: 0, response_size: LARGE_RESPONSE, payload: zeros(LARGE_REQUEST) };
}

function streamingRequest(responseSizes, requestSize = 0) {
  return {
    response_type: 0,
    response_parameters: responseSizes.map((size) => ({ size })),
    payload: requestSize ? zeros(requestSize) : null,
  };
}

/** A unary call as a promise of {response, headers, status}; rejects with the call's error. */
function unary(method, request, metadata = new grpc.Metadata(), options = deadline()) {
  return new Promise((resolve, reject) => {
    let headers = null;
    let response;
    let status;
    // The response and the status arrive separately; the call is over once both have.
    const settle = () => {
      if (response !== undefined && status !== undefined) resolve({ response, headers, status });
    };
    const call = method(request, metadata, options, (err, value) => {
      if (err) {
        reject(err);
        return;
      }
      response = value;
      settle();
    });
    call.on('metadata', (md) => {
      headers = md;
    });
    call.on('status', (got) => {
      status = got;
      settle();
    });
  });
}

/** Everything a streaming call sends: {responses, headers, status}; rejects on an error status. */
function collect(call) {
  return new Promise((resolve, reject) => {
    const responses = [];
    let headers = null;
    call.on('metadata', (md) => {
      headers = md;
    });
    call.on('data', (response) => responses.push(response));
    call.on('error', reject);
    call.on('status', (status) => {
      if (status.code === grpc.status.OK) resolve({ responses, headers, status });
    });
  });
}

/** The next message of a streaming call, or null at its end. */
function next(call) {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      call.off('data', onData);
      call.off('end', onEnd);
      call.off('error', onError);
    };
    const onData = (response) => {
      cleanup();
      call.pause();
      resolve(response);
    };
    const onEnd = () => {
      cleanup();
      resolve(null);
    };
    const onError = (err) => {
      cleanup();
      reject(err);
    };
    call.on('data', onData);
    call.on('end', onEnd);
    call.on('error', onError);
    call.resume();
  });
}

/** The status a call ends with (resolved, not thrown). */
function finalStatus(call) {
  return new Promise((resolve) => {
    call.on('error', () => {});
    call.on('status', resolve);
  });
}

async function expectError(promise, code, message, what) {
  try {
    await promise;
  } catch (err) {
    expect(err.code === code, `${what}: status ${statusName(err.code)} (${err.details}), want ${statusName(code)}`);
    if (message !== undefined) {
      expect(err.details === message, `${what}: status message ${JSON.stringify(err.details)}, want ${JSON.stringify(message)}`);
    }
    return;
  }
  throw new CaseFailed(`${what}: call succeeded, want status ${statusName(code)}`);
}

function checkSizes(what, responses, sizes) {
  expect(responses.length === sizes.length, `${what}: ${responses.length} responses, want ${sizes.length}`);
  responses.forEach((response, i) => checkBody(`${what} response ${i + 1}`, response.payload, sizes[i]));
}

function checkEchoed(what, headers, trailers) {
  const initial = headers ? headers.get(ECHO_INITIAL[0]) : [];
  expect(initial.length === 1 && initial[0] === ECHO_INITIAL[1], `${what}: initial metadata ${ECHO_INITIAL[0]} is ${JSON.stringify(initial)}, want ${ECHO_INITIAL[1]}`);
  const trailing = trailers ? trailers.get(ECHO_TRAILING[0]) : [];
  expect(trailing.length === 1 && Buffer.compare(trailing[0], ECHO_TRAILING[1]) === 0, `${what}: trailing metadata ${ECHO_TRAILING[0]} is ${JSON.stringify(trailing)}, want 0xababab`);
}

export const CASES = {
  async empty_unary({ test }) {
    const { response } = await unary(test.EmptyCall.bind(test), {});
    expect(response !== undefined && response !== null, 'EmptyCall answered nothing');
  },

  async large_unary({ test }) {
    const { response } = await unary(test.UnaryCall.bind(test), largeRequest());
    checkBody('UnaryCall', response.payload, LARGE_RESPONSE);
  },

  async server_compressed_unary({ test }) {
    for (const compressed of [true, false]) {
      const request = { ...largeRequest(), response_compressed: { value: compressed } };
      const { response } = await unary(test.UnaryCall.bind(test), request);
      checkBody(`UnaryCall(response_compressed=${compressed})`, response.payload, LARGE_RESPONSE);
    }
  },

  async client_streaming({ test }) {
    const response = await new Promise((resolve, reject) => {
      const call = test.StreamingInputCall(deadline(), (err, value) => (err ? reject(err) : resolve(value)));
      for (const size of REQUEST_SIZES) call.write({ payload: zeros(size) });
      call.end();
    });
    const want = REQUEST_SIZES.reduce((a, b) => a + b, 0);
    expect(response.aggregated_payload_size === want, `aggregated_payload_size ${response.aggregated_payload_size}, want ${want}`);
  },

  async server_streaming({ test }) {
    const { responses } = await collect(test.StreamingOutputCall(streamingRequest(RESPONSE_SIZES), deadline()));
    checkSizes('StreamingOutputCall', responses, RESPONSE_SIZES);
  },

  async server_compressed_streaming({ test }) {
    const request = {
      response_type: 0,
      response_parameters: [
        { size: 31415, compressed: { value: true } },
        { size: 92653, compressed: { value: false } },
      ],
    };
    const { responses } = await collect(test.StreamingOutputCall(request, deadline()));
    checkSizes('StreamingOutputCall', responses, [31415, 92653]);
  },

  async ping_pong({ test }) {
    const call = test.FullDuplexCall(deadline());
    const ended = finalStatus(call);
    for (const [i, size] of RESPONSE_SIZES.entries()) {
      call.write(streamingRequest([size], REQUEST_SIZES[i]));
      const response = await next(call);
      expect(response !== null, `FullDuplexCall ended before response ${i + 1}`);
      checkBody(`FullDuplexCall response ${i + 1}`, response.payload, size);
    }
    call.end();
    expect((await next(call)) === null, 'FullDuplexCall sent more than 4 responses');
    const status = await ended;
    expect(status.code === grpc.status.OK, `call ended with ${statusName(status.code)} (${status.details}), want OK`);
  },

  async empty_stream({ test }) {
    const call = test.FullDuplexCall(deadline());
    call.end();
    const { responses } = await collect(call);
    expect(responses.length === 0, `FullDuplexCall sent ${responses.length} responses, want none`);
  },

  async timeout_on_sleeping_server({ test }) {
    const call = test.FullDuplexCall(deadline(1));
    const ended = finalStatus(call);
    call.write(streamingRequest([], 27182));
    const status = await ended;
    expect(status.code === grpc.status.DEADLINE_EXCEEDED, `FullDuplexCall with a 1 ms deadline ended with ${statusName(status.code)} (${status.details}), want DEADLINE_EXCEEDED`);
  },

  async cancel_after_begin({ test }) {
    // The channel is connected first, and the call given a turn of the event loop to send
    // its headers, so what is cancelled is a call that began.
    await new Promise((resolve, reject) => test.waitForReady(deadline().deadline, (err) => (err ? reject(err) : resolve())));
    const call = test.StreamingInputCall(deadline(), () => {});
    const ended = finalStatus(call);
    await new Promise((resolve) => setImmediate(resolve));
    call.cancel();
    const status = await ended;
    expect(status.code === grpc.status.CANCELLED, `call ended with ${statusName(status.code)} (${status.details}), want CANCELLED`);
  },

  async cancel_after_first_response({ test }) {
    const call = test.FullDuplexCall(deadline());
    const ended = finalStatus(call);
    call.write(streamingRequest([31415], 27182));
    const response = await next(call);
    expect(response !== null, 'FullDuplexCall ended before its first response');
    call.cancel();
    const status = await ended;
    expect(status.code === grpc.status.CANCELLED, `call ended with ${statusName(status.code)} (${status.details}), want CANCELLED`);
  },

  async status_code_and_message({ test }) {
    const echo = { code: grpc.status.UNKNOWN, message: 'test status message' };
    await expectError(unary(test.UnaryCall.bind(test), { response_status: echo }), grpc.status.UNKNOWN, echo.message, 'UnaryCall');
    const call = test.FullDuplexCall(deadline());
    call.write({ response_status: echo });
    call.end();
    await expectError(collect(call), grpc.status.UNKNOWN, echo.message, 'FullDuplexCall');
  },

  async special_status_message({ test }) {
    const echo = { code: grpc.status.UNKNOWN, message: SPECIAL_STATUS_MESSAGE };
    await expectError(unary(test.UnaryCall.bind(test), { response_status: echo }), grpc.status.UNKNOWN, echo.message, 'UnaryCall');
  },

  async custom_metadata({ test }) {
    const metadata = new grpc.Metadata();
    metadata.set(...ECHO_INITIAL);
    metadata.set(...ECHO_TRAILING);
    const unaryCall = await unary(test.UnaryCall.bind(test), largeRequest(), metadata);
    checkBody('UnaryCall', unaryCall.response.payload, LARGE_RESPONSE);
    checkEchoed('UnaryCall', unaryCall.headers, unaryCall.status.metadata);

    const call = test.FullDuplexCall(metadata, deadline());
    call.write(streamingRequest([LARGE_RESPONSE], LARGE_REQUEST));
    call.end();
    const duplex = await collect(call);
    checkSizes('FullDuplexCall', duplex.responses, [LARGE_RESPONSE]);
    checkEchoed('FullDuplexCall', duplex.headers, duplex.status.metadata);
  },

  async unimplemented_method({ test }) {
    await expectError(unary(test.UnimplementedCall.bind(test), {}), grpc.status.UNIMPLEMENTED, undefined, 'TestService/UnimplementedCall');
  },

  async unimplemented_service({ unimplemented }) {
    await expectError(unary(unimplemented.UnimplementedCall.bind(unimplemented), {}), grpc.status.UNIMPLEMENTED, undefined, 'UnimplementedService/UnimplementedCall');
  },
};
