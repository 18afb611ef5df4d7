// grpc.testing.TestService on @grpc/grpc-js, as gRPC's interop test descriptions define it:
// payloads of zeros of the requested sizes, echoed status codes and messages, and the echo
// metadata (`x-grpc-test-echo-initial` in the headers, `x-grpc-test-echo-trailing-bin` in
// the trailers). Not offered: CompressedRequest and CompressedResponse (grpc-js has no
// per-call compression on the server and does not tell a handler whether a request arrived
// compressed), CacheableUnaryCall (it needs a caching proxy) and UnimplementedCall.
import grpc from '@grpc/grpc-js';

export const ECHO_INITIAL_KEY = 'x-grpc-test-echo-initial';
export const ECHO_TRAILING_KEY = 'x-grpc-test-echo-trailing-bin';

// The largest payload body one response carries: gRPC's default largest message (4 MiB) less
// room for the message around it, so one request cannot make the server allocate gigabytes.
export const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024 - 1024;
// HalfDuplexCall answers only once the client half-closes; it holds this many requests.
export const MAX_HELD_REQUESTS = 10000;
const COMPRESSABLE = 0;

/** A status to end a call with. */
function status(code, details) {
  return { code, details };
}

function requestedStatus(echo) {
  if (!echo || echo.code === 0) return null;
  if (!Number.isInteger(echo.code) || echo.code < 0 || echo.code > 16) {
    return status(grpc.status.INVALID_ARGUMENT, `response_status.code ${echo.code} is not a gRPC status code (0-16)`);
  }
  return status(echo.code, echo.message);
}

function checkSize(responseType, size, field) {
  if (responseType !== COMPRESSABLE) {
    return status(grpc.status.INVALID_ARGUMENT, `response_type ${responseType} is not supported (only COMPRESSABLE, 0)`);
  }
  if (size < 0) return status(grpc.status.INVALID_ARGUMENT, `${field} ${size} is negative`);
  if (size > MAX_PAYLOAD_BYTES) {
    return status(grpc.status.INVALID_ARGUMENT, `${field} ${size} is more than this server sends in one message (${MAX_PAYLOAD_BYTES} bytes)`);
  }
  return null;
}

function checkExpectCompressed(expect) {
  if (expect && expect.value) {
    return status(grpc.status.UNIMPLEMENTED, 'expect_compressed is not supported: a grpc-js server cannot tell whether a request arrived compressed');
  }
  return null;
}

/** The status a streaming request asks for or the reason it cannot be served, else null. */
function checkStreaming(request) {
  const asked = requestedStatus(request.response_status);
  if (asked) return asked;
  for (const [i, params] of request.response_parameters.entries()) {
    const bad = checkSize(request.response_type, params.size, `response_parameters[${i}].size`);
    if (bad) return bad;
  }
  return null;
}

function payload(size) {
  return { type: COMPRESSABLE, body: Buffer.alloc(size) };
}

/** Send the initial echo now; return the trailers to end the call with (the trailing echo). */
function echo(call) {
  const initial = call.metadata.get(ECHO_INITIAL_KEY);
  if (initial.length > 0) {
    const headers = new grpc.Metadata();
    headers.set(ECHO_INITIAL_KEY, initial[0]);
    call.sendMetadata(headers);
  }
  const trailers = new grpc.Metadata();
  const trailing = call.metadata.get(ECHO_TRAILING_KEY);
  if (trailing.length > 0) trailers.set(ECHO_TRAILING_KEY, trailing[0]);
  return trailers;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Write one response per parameters, each after its interval; false once the call ended. */
async function send(call, parameters) {
  for (const params of parameters) {
    if (params.interval_us > 0) await sleep(params.interval_us / 1000);
    if (call.cancelled) return false;
    call.write({ payload: payload(params.size) });
  }
  return true;
}

function fail(call, trailers, problem) {
  call.emit('error', { ...problem, metadata: trailers });
}

export const testService = {
  EmptyCall(call, callback) {
    callback(null, {}, echo(call));
  },

  UnaryCall(call, callback) {
    const trailers = echo(call);
    const request = call.request;
    const problem =
      requestedStatus(request.response_status) ??
      checkExpectCompressed(request.expect_compressed) ??
      checkSize(request.response_type, request.response_size, 'response_size');
    if (problem) {
      callback({ ...problem, metadata: trailers });
      return;
    }
    callback(null, { payload: payload(request.response_size) }, trailers);
  },

  async StreamingOutputCall(call) {
    const trailers = echo(call);
    const problem = checkStreaming(call.request);
    if (problem) {
      fail(call, trailers, problem);
      return;
    }
    if (await send(call, call.request.response_parameters)) call.end(trailers);
  },

  StreamingInputCall(call, callback) {
    const trailers = echo(call);
    let total = 0;
    let ended = false;
    call.on('data', (request) => {
      const problem = checkExpectCompressed(request.expect_compressed);
      if (problem && !ended) {
        ended = true;
        callback({ ...problem, metadata: trailers });
      }
      total += request.payload ? request.payload.body.length : 0;
    });
    call.on('end', () => {
      if (!ended) callback(null, { aggregated_payload_size: total }, trailers);
    });
  },

  FullDuplexCall(call) {
    const trailers = echo(call);
    // Requests are answered one after the other, in order, even when one waits on intervals.
    let work = Promise.resolve(true);
    let over = false;
    call.on('data', (request) => {
      work = work.then(async (going) => {
        if (!going || over) return false;
        const problem = checkStreaming(request);
        if (problem) {
          over = true;
          fail(call, trailers, problem);
          return false;
        }
        return send(call, request.response_parameters);
      });
    });
    call.on('end', () => {
      work.then((going) => {
        if (going && !over) call.end(trailers);
      });
    });
  },

  HalfDuplexCall(call) {
    const trailers = echo(call);
    const held = [];
    let over = false;
    call.on('data', (request) => {
      if (over) return;
      let problem = checkStreaming(request);
      if (!problem && held.length === MAX_HELD_REQUESTS) {
        problem = status(grpc.status.RESOURCE_EXHAUSTED, `HalfDuplexCall holds at most ${MAX_HELD_REQUESTS} requests before the client half-closes`);
      }
      if (problem) {
        over = true;
        fail(call, trailers, problem);
        return;
      }
      held.push(request.response_parameters);
    });
    call.on('end', async () => {
      if (over) return;
      for (const parameters of held) {
        if (!(await send(call, parameters))) return;
      }
      call.end(trailers);
    });
  },
};
