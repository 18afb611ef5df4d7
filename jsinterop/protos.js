// The service definitions, loaded at start-up from the repository's proto/ folder: the same
// files the Go and Python code is generated from.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const PROTO_ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'proto');

// Field names as in the .proto, enums as numbers, every field present with its default:
// the cases compare sizes and codes, so they read plain values.
const OPTIONS = { keepCase: true, enums: Number, longs: Number, defaults: true, includeDirs: [PROTO_ROOT] };

/** grpc.testing.TestService and UnimplementedService. */
export function loadTesting() {
  const definition = protoLoader.loadSync('polychat/grpc_testing/test.proto', OPTIONS);
  return grpc.loadPackageDefinition(definition).grpc.testing;
}

/** chat.ChatService. */
export function loadChat() {
  const definition = protoLoader.loadSync('polychat/chat/chat.proto', OPTIONS);
  return grpc.loadPackageDefinition(definition).chat;
}
